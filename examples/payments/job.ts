/**
 * A backend job (client): authenticates with private_key_jwt, gets a token for the payments API
 * (cached and renewed by the SDK) and calls it.
 */
import type { KeyObject } from 'node:crypto';
import { TokenClient } from '../../packages/client/src/index.ts';
import { PAYMENTS_AUDIENCE } from './api.ts';

export async function runPaymentsJob(opts: { issuer: string; apiUrl: string; privateKey: KeyObject; kid: string }): Promise<string[]> {
  const client = new TokenClient({
    issuer: opts.issuer,
    clientId: 'payments-job',
    auth: { method: 'private_key_jwt', privateKey: opts.privateKey, kid: opts.kid, alg: 'ES256' },
  });
  const log: string[] = [];
  const request = { scope: 'payments', resource: PAYMENTS_AUDIENCE };
  for (const amount of ['10.00', '25.50']) {
    const res = await client.fetch(`${opts.apiUrl}/v1/payments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount }) }, request);
    log.push(`POST /v1/payments ${amount} → ${res.status} ${await res.text()}`);
  }
  const balance = await client.fetch(`${opts.apiUrl}/v1/balance`, {}, request);
  log.push(`GET /v1/balance → ${balance.status} ${await balance.text()}`);
  return log;
}
