/**
 * oidc-provider (v9), configured as close to Tessera as it allows: the same clients with the same
 * secrets and keys, the client credentials grant, ES256-signed JWT access tokens for the default
 * resource (resource indicators), introspection, and client authentication by
 * client_secret_basic, client_secret_post, client_secret_jwt and private_key_jwt.
 * Storage is oidc-provider's built-in in-memory adapter (an LRU of 1000 entries).
 * oidc-provider refuses to introspect JWT access tokens, so a second resource issues opaque
 * tokens for the introspection scenario.
 *
 * Usage: node --import tsx bench/servers/oidc-provider.ts <fixture.json>   (env BENCH_PORT)
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import type { Fixture } from '../lib/fixtures.ts';

const fixture = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Fixture;
const port = Number(process.env.BENCH_PORT);
const issuer = `http://127.0.0.1:${port}`;

// Loaded through a non-literal specifier: oidc-provider ships no type declarations.
const specifier = 'oidc-provider';
const mod = (await import(specifier)) as {
  default: new (issuer: string, configuration: object) => { callback(): (...args: unknown[]) => void; on(event: string, fn: (...args: unknown[]) => void): void };
  errors: { InvalidTarget: new (description: string) => Error };
};
const { default: Provider, errors } = mod;

// id_token_signed_response_alg only because its default (RS256) has no key here; no ID tokens are issued.
const common = { grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: fixture.scope, id_token_signed_response_alg: 'ES256' };
const clients = [
  { ...common, client_id: fixture.basic.client_id, client_secret: fixture.basic.secret, token_endpoint_auth_method: 'client_secret_basic' },
  { ...common, client_id: fixture.post.client_id, client_secret: fixture.post.secret, token_endpoint_auth_method: 'client_secret_post' },
  {
    ...common,
    client_id: fixture.hs256.client_id,
    client_secret: fixture.hs256.secret,
    token_endpoint_auth_method: 'client_secret_jwt',
    token_endpoint_auth_signing_alg: 'HS256',
  },
  ...Object.values(fixture.keyClients).map((c) => ({
    ...common,
    client_id: c.client_id,
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: c.alg,
    jwks: { keys: [c.publicJwk] },
  })),
];

const provider = new Provider(issuer, {
  jwks: { keys: [fixture.asKey] },
  clients,
  scopes: [fixture.scope],
  ttl: { ClientCredentials: fixture.ttl },
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => fixture.api,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx: unknown, resource: string) => {
        if (resource === fixture.api) {
          return { scope: fixture.scope, audience: fixture.api, accessTokenTTL: fixture.ttl, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
        }
        if (resource === fixture.opaqueApi) return { scope: fixture.scope, audience: fixture.opaqueApi, accessTokenTTL: fixture.ttl, accessTokenFormat: 'opaque' };
        throw new errors.InvalidTarget('unknown resource');
      },
    },
  },
});
provider.on('server_error', (_ctx, err) => process.stderr.write(`oidc-provider server_error: ${String(err)}\n`));

const server = createServer(provider.callback() as never);
server.keepAliveTimeout = 75_000;
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)).closeAllConnections());
