/**
 * One command: `npm run example:payments`. Starts a local Tessera with the job registered
 * (private_key_jwt, its public key inline), the payments API, then runs the job against it.
 */
import { generateKeyPairSync } from 'node:crypto';
import { startLocalTessera } from '../lib/local-tessera.ts';
import { listen, paymentsApi, PAYMENTS_AUDIENCE } from './api.ts';
import { runPaymentsJob } from './job.ts';

const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const kid = 'payments-job-1';
const tessera = await startLocalTessera({
  clients: [
    {
      client_id: 'payments-job',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' }] },
      scope: 'payments',
      allowed_resources: [PAYMENTS_AUDIENCE],
      default_resource: PAYMENTS_AUDIENCE,
    },
  ],
});
const api = await listen(paymentsApi(tessera.issuer));
try {
  console.log(`Tessera at ${tessera.issuer}, payments API at ${api.url}`);
  for (const line of await runPaymentsJob({ issuer: tessera.issuer, apiUrl: api.url, privateKey, kid })) console.log(line);
} finally {
  api.server.close();
  await tessera.stop();
}
