/**
 * The `tessera` command line: serve, migrate, clients, keys, token. Admin commands work directly
 * on the configured storage through the same core facade the server uses; a running server learns
 * of their changes through the storage's change feed.
 */
import { Command, Option } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { AuthorizationServer } from '../core/server.ts';
import { DEFAULT_REALM, type ClientMetadataInput } from '../core/config/index.ts';
import { PROFILES } from '../core/config/profiles.ts';
import { openRuntime, type Runtime } from './runtime.ts';
import { serve } from './serve.ts';
import { tokenCommand } from './token.ts';
import { EXIT, OperatorError, reportFailure, wholeNumber } from './exit.ts';
import { importKeycloak } from './import-keycloak.ts';
import { cliActor, registerAdminCommands } from './admin-commands.ts';
import { adminCommand } from './admin.ts';
import { consoleCommand } from './console.ts';
import { addRemoteOption, RemoteAdmin } from './remote.ts';

/** Set while a command runs with --url: its admin operations go to that server's admin API. */
let remoteUrl: () => string | undefined = () => undefined;

const out = (value: unknown): void => void process.stdout.write(JSON.stringify(value, null, 2) + "\n");
const collect = (value: string, previous: string[] = []) => [...previous, value];

async function withRuntime<T>(configFile: string | undefined, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const url = remoteUrl();
  if (url !== undefined) return fn({ server: await RemoteAdmin.fromEnv(url) } as unknown as Runtime);
  const rt = await openRuntime(configFile, { bootstrap: false });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

function readStructured(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new OperatorError(EXIT.usage, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}: check the file name`, { cause: err });
  }
  try {
    return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new OperatorError(EXIT.usage, `${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}: fix the file`, { cause: err });
  }
}

/** The server package's version (package.json sits two levels above src/cli and dist/cli). */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export function buildCli(): Command {
  // exitOverride: commander throws instead of exiting, and main() prints one line with exit code 3
  // (exit.ts). Subcommands inherit both settings when created with program.command().
  const program = new Command('tessera')
    .description('OAuth 2.0 authorization server for machine-to-machine access')
    .version(version(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ outputError: () => {} });
  const configOpt = () => new Option('-c, --config <file>', 'configuration file (YAML or JSON); env TESSERA_CONFIG');
  const realmOpt = () => new Option('-r, --realm <name>', 'realm').default(DEFAULT_REALM);

  program
    .command('serve')
    .description('run the server')
    .addOption(configOpt())
    .option('-p, --port <port>', 'port to listen on (wins over listen.port and TESSERA_PORT)', wholeNumber(0, 65535))
    .option('-w, --workers <n>', 'worker processes sharing the port (one per core)', wholeNumber(1, 64), 1)
    .action((o) => serve(o.config, { workers: o.workers, port: o.port }));

  program
    .command('migrate')
    .description('apply storage migrations')
    .addOption(configOpt())
    .action((o) => withRuntime(o.config, async (rt) => out({ migrated: rt.storage.kind })));

  const clients = program.command('clients').description('manage registered clients');
  clients
    .command('create')
    .description('register a client; a generated secret is printed once')
    .addOption(configOpt())
    .addOption(realmOpt())
    .option('--id <client_id>', 'client id (default: generated)')
    .option('--name <client_name>', 'display name')
    .addOption(new Option('--method <method>', 'token_endpoint_auth_method').choices(['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt']))
    .option('--alg <alg>', 'token_endpoint_auth_signing_alg')
    .option('--scope <scopes>', 'allowed scopes, space separated')
    .option('--default-scope <scopes>', 'default scopes, space separated')
    .option('--jwks-uri <url>', 'URL of the client JWK Set')
    .option('--jwks-file <file>', 'file holding the client JWK Set')
    .option('--owner <owner>', 'owner (repeatable)', collect)
    .option('--resource <uri>', 'allowed resource / audience (repeatable)', collect)
    .option('--ttl <seconds>', 'access token lifetime', wholeNumber(1, 2_147_483_647))
    .option('--may-introspect', 'allow calling the introspection endpoint')
    .option('--metadata <file>', 'RFC 7591 client metadata (YAML or JSON); flags override it')
    .action((o) =>
      withRuntime(o.config, async (rt) => {
        const base = o.metadata ? (readStructured(o.metadata) as Record<string, unknown>) : {};
        const input: Record<string, unknown> = { ...base };
        const put = (k: string, v: unknown) => v !== undefined && (input[k] = v);
        put('client_id', o.id ?? base.client_id ?? `client-${crypto.randomUUID()}`);
        put('client_name', o.name);
        put('token_endpoint_auth_method', o.method);
        put('token_endpoint_auth_signing_alg', o.alg);
        put('scope', o.scope);
        put('default_scopes', o.defaultScope);
        put('jwks_uri', o.jwksUri);
        put('jwks', o.jwksFile ? readStructured(o.jwksFile) : undefined);
        put('owners', o.owner);
        put('allowed_resources', o.resource);
        put('access_token_ttl', o.ttl);
        put('may_introspect', o.mayIntrospect);
        const metadata: ClientMetadataInput = AuthorizationServer.parseClientMetadata(input);
        out(await rt.server.createClient(o.realm, metadata, cliActor()));
      }),
    );
  clients
    .command('list')
    .addOption(configOpt())
    .addOption(realmOpt())
    .option('--after <client_id>', 'start after this client id')
    .option('--limit <n>', 'at most n clients', wholeNumber(1, 100_000), 100)
    .action((o) => withRuntime(o.config, async (rt) => out(await rt.server.listClients(o.realm, { after: o.after, limit: o.limit }))));
  clients
    .command('show <client_id>')
    .addOption(configOpt())
    .addOption(realmOpt())
    .action((id, o) => withRuntime(o.config, async (rt) => out(await rt.server.getClient(o.realm, id))));
  for (const [name, disabled] of [['disable', true], ['enable', false]] as const) {
    clients
      .command(`${name} <client_id>`)
      .addOption(configOpt())
      .addOption(realmOpt())
      .option('--revoke-tokens', 'also make every token issued so far inactive')
      .action((id, o) => withRuntime(o.config, async (rt) => out(await rt.server.setClientDisabled(o.realm, id, disabled, { revokeTokens: Boolean(o.revokeTokens), actor: cliActor() }))));
  }
  clients
    .command('delete <client_id>')
    .addOption(configOpt())
    .addOption(realmOpt())
    .action((id, o) => withRuntime(o.config, async (rt) => out({ deleted: (await rt.server.deleteClient(o.realm, id, cliActor()), id) })));
  clients
    .command('rotate-secret <client_id>')
    .description('issue a new secret (printed once); the old one stops working at once, or after --grace seconds')
    .addOption(configOpt())
    .addOption(realmOpt())
    .option('--grace <seconds>', 'the old secret keeps working this long (default 0)', (v) => {
      if (!/^\d+$/.test(v)) throw new TypeError(`--grace: whole seconds, got ${JSON.stringify(v)}`);
      return Number(v);
    })
    .option('--revoke-tokens', 'also make every token issued so far inactive')
    .action((id, o) => withRuntime(o.config, async (rt) => out(await rt.server.rotateClientSecret(o.realm, id, { graceSeconds: o.grace ?? 0, revokeTokens: Boolean(o.revokeTokens), actor: cliActor() }))));

  const keys = program.command('keys').description('manage signing keys');
  keys
    .command('list')
    .addOption(configOpt())
    .addOption(realmOpt())
    .action((o) => withRuntime(o.config, async (rt) => out((await rt.server.listKeys(o.realm)).map((k) => ({ ...k, activatesAt: new Date(k.activatesAt).toISOString() })))));
  keys
    .command('rotate')
    .description('publish a new signing key; it signs after the pre-publication period')
    .addOption(configOpt())
    .addOption(realmOpt())
    .option('--now', 'sign with the new key at once (skip pre-publication)')
    .action((o) =>
      withRuntime(o.config, async (rt) => {
        const r = await rt.server.rotateKeys(o.realm, { immediate: Boolean(o.now), actor: cliActor() });
        out({ kid: r.kid, activatesAt: new Date(r.activatesAt).toISOString() });
      }),
    );

  program
    .command('export')
    .description('write realms, clients, signing keys and revocations as JSON (to move to another backend)')
    .addOption(configOpt())
    .option('-r, --realm <name>', 'realm to export (repeatable; default all)', collect)
    .option('-o, --out <file>', 'output file (default stdout); written with mode 0600')
    .option('--include-secrets', 'put private keys and client_secret_jwt secrets in clear, for a target with another KEK')
    .action((o) =>
      withRuntime(o.config, async (rt) => {
        const doc = await rt.server.exportData({ realms: o.realm, includeSecrets: Boolean(o.includeSecrets) });
        const text = JSON.stringify(doc, null, 2) + '\n';
        if (o.out) writeFileSync(o.out, text, { mode: 0o600 });
        else process.stdout.write(text);
        if (doc.containsSecrets) process.stderr.write('tessera: the export contains private keys and secrets in clear: keep it secret, delete it after import\n');
      }),
    );
  program
    .command('import [file]')
    .description('read an export into the configured storage (upserts clients, keys, revocations); --from keycloak reads a Keycloak realm export')
    .addOption(configOpt())
    .option('-i, --in <file>', 'export file (or give it as the argument)')
    .addOption(new Option('--from <format>', 'format of the file').choices(['tessera', 'keycloak']).default('tessera'))
    .addOption(new Option('-r, --realm <name>', 'target realm (--from keycloak)').default(DEFAULT_REALM))
    .action((file: string | undefined, o) => {
      const path = file ?? o.in;
      if (path === undefined) throw new OperatorError(EXIT.usage, 'import: no file given: tessera import FILE (or --in FILE)');
      if (o.from === 'keycloak') return withRuntime(o.config, async (rt) => void (await importKeycloak(rt.server, o.realm, readStructured(path))));
      return withRuntime(o.config, async (rt) => out(await rt.server.importData(JSON.parse(readFileSync(path, 'utf8')))));
    });

  keys
    .command('revoke <kid>')
    .description('withdraw a key at once (compromise): unpublished and never used again; refused while it is the only key that can sign')
    .addOption(configOpt())
    .addOption(realmOpt())
    .option('--promote', 'when its successor is only pre-published, make the successor sign at once')
    .action((kid, o) => withRuntime(o.config, async (rt) => out({ revoked: (await rt.server.revokeKey(o.realm, kid, { promoteSuccessor: Boolean(o.promote), actor: cliActor() }), kid) })));

  const realms = program.command('realms').description('realms: those declared in the configuration file, and runtime realms (stored)');
  realms
    .command('list')
    .addOption(configOpt())
    .action((o) => withRuntime(o.config, async (rt) => out(await rt.server.admin.listRealms(cliActor()))));
  realms
    .command('show <name>')
    .addOption(configOpt())
    .action((name, o) => withRuntime(o.config, async (rt) => out(await rt.server.admin.getRealm(cliActor(), name))));
  realms
    .command('create <name>')
    .description('create a runtime realm, served by every instance: its own issuer, signing keys and clients')
    .addOption(configOpt())
    .option('--settings <file>', "the realm's settings as in a realm of the configuration file, without clients (YAML or JSON: profile, scopes, assertions, tokens, keys)")
    .addOption(new Option('--profile <profile>', 'a vendor profile (wins over --settings)').choices(PROFILES))
    .option('--scope <scope>', 'a scope the realm offers (repeatable; adds to --settings)', collect)
    .action((name: string, o) =>
      withRuntime(o.config, async (rt) => {
        const settings = o.settings ? readStructured(o.settings) : {};
        if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) throw new OperatorError(EXIT.usage, `${o.settings}: the realm settings must be a mapping (profile, scopes, assertions, tokens, keys)`);
        const input: Record<string, unknown> = { ...(settings as Record<string, unknown>), name };
        if (o.profile !== undefined) input.profile = o.profile;
        if (o.scope !== undefined) input.scopes = [...((input.scopes as unknown[] | undefined) ?? []), ...(o.scope as string[]).map((scope) => ({ name: scope }))];
        out(await rt.server.admin.createRealm(cliActor(), input as never));
      }),
    );
  realms
    .command('delete <name>')
    .description('delete a runtime realm: no instance serves it any more; its clients and signing keys are deleted (a realm declared in the configuration file is refused: remove it from the file)')
    .addOption(configOpt())
    .action((name: string, o) => withRuntime(o.config, async (rt) => out({ deleted: (await rt.server.admin.deleteRealm(cliActor(), name), name) })));

  registerAdminCommands(program);

  tokenCommand(program);
  adminCommand(program);
  consoleCommand(program);
  remoteUrl = addRemoteOption(program);
  return program;
}

/**
 * Runs the CLI. Every failure ends here: one line on stderr and the exit code of its kind (exit.ts,
 * docs/cli.md); a stack trace only for unexpected errors.
 */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    const code = reportFailure(err);
    // Exit now: a half-opened pool or socket must not keep a failed command alive.
    process.exit(code);
  }
}
