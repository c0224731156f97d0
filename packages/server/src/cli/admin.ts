/**
 * `tessera admin bootstrap`: creates the first client of the admin realm, allowed every admin
 * scope and the admin API audience, and prints its credentials once. Until then the admin API
 * answers 401 to everything. Further admin clients are created through the admin API itself
 * (POST /admin/v1/realms/admin/clients).
 */
import { Option, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { AuthorizationServer } from '../core/server.ts';
import { AdminError } from '../core/errors/index.ts';
import { adminAudience, ALL_ADMIN_SCOPES } from '../http/admin/index.ts';
import { openRuntime } from './runtime.ts';

export function adminCommand(program: Command): void {
  const admin = program.command('admin').description('the admin API (/admin/v1)');
  admin
    .command('bootstrap')
    .description('create the first admin client (credentials printed once); refused when the admin realm has a client already')
    .addOption(new Option('-c, --config <file>', 'configuration file (YAML or JSON); env TESSERA_CONFIG'))
    .option('--id <client_id>', 'client id', 'tessera-admin')
    .addOption(new Option('--method <method>', 'token_endpoint_auth_method').choices(['client_secret_basic', 'client_secret_post', 'private_key_jwt']).default('client_secret_basic'))
    .option('--jwks-file <file>', 'public JWK Set of the admin client (private_key_jwt)')
    .option('--jwks-uri <url>', 'URL of the admin client JWK Set (private_key_jwt)')
    .action(async (o) => {
      const rt = await openRuntime(o.config, { bootstrap: false });
      try {
        const { config, server, storage } = rt;
        const realm = config.admin.realm;
        await server.keys.init({ create: true }); // a fresh install has no admin-realm key yet
        if ((await storage.clients.count(realm)) > 0) {
          throw new AdminError('conflict', `the admin realm "${realm}" has a client already; create more through the admin API (POST /admin/v1/realms/${realm}/clients)`);
        }
        const aud = adminAudience(config.issuer);
        const input: Record<string, unknown> = {
          client_id: o.id,
          client_name: 'Tessera admin (bootstrap)',
          token_endpoint_auth_method: o.method,
          scope: ALL_ADMIN_SCOPES.join(' '),
          default_scopes: 'tessera:admin',
          allowed_resources: [aud],
          default_resource: aud,
        };
        if (o.method === 'private_key_jwt') {
          if (!o.jwksFile && !o.jwksUri) throw new TypeError('private_key_jwt needs --jwks-file or --jwks-uri');
          if (o.jwksFile) {
            const text = readFileSync(o.jwksFile, 'utf8');
            input.jwks = o.jwksFile.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
          }
          if (o.jwksUri) input.jwks_uri = o.jwksUri;
        }
        const created = await server.createClient(realm, AuthorizationServer.parseClientMetadata(input));
        const tokenEndpoint = config.realms.get(realm)!.tokenEndpoint;
        process.stdout.write(
          JSON.stringify(
            {
              client_id: o.id,
              ...(created.client_secret ? { client_secret: created.client_secret } : {}),
              token_endpoint: tokenEndpoint,
              audience: aud,
              scope: ALL_ADMIN_SCOPES.join(' '),
            },
            null,
            2,
          ) + '\n',
        );
        process.stderr.write(
          (created.client_secret ? 'The secret is shown once and stored only as a hash.\n' : '') +
            `Use it for the remote CLI: TESSERA_ADMIN_URL=${config.issuer} TESSERA_ADMIN_CLIENT_ID=${o.id}` +
            (created.client_secret ? ' TESSERA_ADMIN_CLIENT_SECRET=… tessera clients list\n' : ' TESSERA_ADMIN_PRIVATE_KEY=key.pem tessera clients list\n'),
        );
      } finally {
        await rt.close();
      }
    });
}
