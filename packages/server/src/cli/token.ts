/** `tessera token`: obtain an access token as a client would, with the client SDK. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { readFileSync } from 'node:fs';
import { EXIT, OperatorError, tokenError } from './exit.ts';

export function tokenCommand(program: Command): void {
  program
    .command('token')
    .description('get an access token from a Tessera (or any RFC 8414) server as a client')
    .requiredOption('--issuer <url>', 'issuer URL')
    .requiredOption('--client-id <id>', 'client id')
    .addOption(new Option('--method <method>', 'client authentication').choices(['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt']).default('client_secret_basic'))
    .addOption(new Option('--client-secret <secret>', 'client secret').env('TESSERA_CLIENT_SECRET'))
    .option('--private-key <file>', 'private key (PEM or JWK JSON) for private_key_jwt')
    .option('--kid <kid>', 'kid of the private key')
    .option('--alg <alg>', 'assertion alg')
    .option('--scope <scopes>', 'scopes to request')
    .option('--resource <uri>', 'resource (audience) to request')
    .action(async (o) => {
      const { TokenClient } = await import('@tessera-auth/client');
      let auth: Record<string, unknown>;
      if (o.method === 'private_key_jwt') {
        if (!o.privateKey) throw new TypeError('--private-key is required for private_key_jwt');
        let text: string;
        try {
          text = readFileSync(o.privateKey, 'utf8');
        } catch (err) {
          throw new OperatorError(EXIT.usage, `cannot read --private-key ${o.privateKey}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
        }
        let privateKey: unknown = text;
        if (text.trim().startsWith('{')) {
          try {
            privateKey = JSON.parse(text);
          } catch (err) {
            throw new OperatorError(EXIT.usage, `--private-key ${o.privateKey} is not valid JWK JSON: ${(err as Error).message}`, { cause: err });
          }
        }
        auth = { method: 'private_key_jwt', privateKey, kid: o.kid, alg: o.alg };
      } else {
        if (!o.clientSecret) throw new TypeError('--client-secret (or TESSERA_CLIENT_SECRET) is required');
        auth = { method: o.method, clientSecret: o.clientSecret, ...(o.alg ? { alg: o.alg } : {}) };
      }
      let token: unknown;
      try {
        const client = new TokenClient({ issuer: o.issuer, clientId: o.clientId, auth } as never);
        token = await client.getToken({ scope: o.scope, resource: o.resource });
      } catch (err) {
        throw tokenError(err, o.issuer);
      }
      process.stdout.write(JSON.stringify(token, null, 2) + '\n');
    });
}
