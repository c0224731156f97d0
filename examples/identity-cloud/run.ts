/**
 * One command: `npm run example:identity-cloud`. The ForgeRock Identity Cloud walkthrough on
 * Tessera: client `myClient` with secret `forgerock` and scope `write`, client_secret_basic, then
 * the token is introspected by a resource server allowed to.
 */
import { startLocalTessera } from '../lib/local-tessera.ts';
import { TokenClient } from '../../packages/client/src/index.ts';

const tessera = await startLocalTessera({
  clients: [
    { client_id: 'myClient', client_secret: 'forgerock', token_endpoint_auth_method: 'client_secret_basic', scope: 'write', owners: ['application-owner'] },
    { client_id: 'resource-server', client_secret: 'rs-secret-change-me', may_introspect: true },
  ],
});
try {
  const client = new TokenClient({ issuer: tessera.issuer, clientId: 'myClient', auth: { method: 'client_secret_basic', clientSecret: 'forgerock' } });
  const token = await client.getToken();
  console.log(`token for myClient: scope=${token.scope}, expires ${new Date(token.expiresAt).toISOString()}`);
  const res = await fetch(`${tessera.issuer}/oauth2/introspect`, {
    method: 'POST',
    headers: { authorization: 'Basic ' + Buffer.from('resource-server:rs-secret-change-me').toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: token.accessToken }),
  });
  const info = (await res.json()) as Record<string, unknown>;
  console.log(`introspection: active=${info.active} client_id=${info.client_id} scope=${info.scope}`);
} finally {
  await tessera.stop();
}
