/**
 * CPU cost of the Prometheus metrics on the token endpoint, measured in one process without
 * sockets or a load generator (which on a 2-core machine make A/A runs of `npm run bench --
 * --scenarios observability` differ by ±9 %): two servers on the same in-memory storage, one built
 * with metrics (instrumented storage, observer, request hooks) and one without, serve
 * client_secret_basic and private_key_jwt ES256 token requests through Fastify's inject in
 * interleaved rounds; the CPU time per request of each is compared (median over rounds).
 *
 *   node --import tsx bench/metrics-overhead.ts [rounds=15] [requests per round=2000]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pino from 'pino';
import { resolveConfig } from '../packages/server/src/core/config/index.ts';
import { createKek } from '../packages/server/src/core/crypto/kek.ts';
import { AuthorizationServer } from '../packages/server/src/core/server.ts';
import { createMemoryStorage } from '../packages/server/src/storage/memory/index.ts';
import { buildApp } from '../packages/server/src/http/app.ts';
import { Metrics } from '../packages/server/src/http/metrics.ts';
import { assertionClaims, basic, form, generateTestKey, JWT_BEARER, signAssertion } from '../test/fixtures/assertions.ts';

const rounds = Number(process.argv[2] ?? 15);
const perRound = Number(process.argv[3] ?? 2000);
const ISSUER = 'http://127.0.0.1:9';
const key = generateTestKey('ES256', 'k1');
const SECRET = randomBytes(32).toString('base64url');

async function build(withMetrics: boolean) {
  const config = resolveConfig({
    issuer: ISSUER,
    demo_client: false,
    throttle: { max_failures: 0 },
    clients: [
      { client_id: 'svc', client_secret: SECRET, scope: 'read' },
      { client_id: 'jwt', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] }, scope: 'read' },
    ],
  });
  const metrics = withMetrics ? new Metrics({}) : undefined;
  const storage = metrics ? metrics.instrumentStorage(createMemoryStorage()) : createMemoryStorage();
  const server = await AuthorizationServer.create({ config, storage, kek: createKek(randomBytes(32)), ...(metrics ? { observer: metrics.observer } : {}) });
  metrics?.bind(server);
  const app = buildApp(server, { logger: pino({ level: 'silent' }), metrics });
  await app.ready();
  return { app, server };
}

interface Req {
  method: 'POST';
  url: string;
  headers: Record<string, string>;
  payload: string;
}

const basicReq: Req = { method: 'POST' as const, url: '/oauth2/token', headers: { authorization: basic('svc', SECRET), 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ grant_type: 'client_credentials' }) };
function jwtReqs(n: number): Req[] {
  return Array.from({ length: n }, () => ({
    method: 'POST' as const,
    url: '/oauth2/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: signAssertion({ alg: 'ES256', kid: 'k1' }, assertionClaims('jwt', ISSUER, { jti: randomUUID() }), key.privateKey) }),
  }));
}

async function cpuPerRequest(app: Awaited<ReturnType<typeof build>>['app'], reqs: Req[]): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < reqs.length; i += 32) {
    const batch = await Promise.all(reqs.slice(i, i + 32).map((r) => app.inject(r)));
    for (const res of batch) if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}: ${res.body}`);
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / reqs.length;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const off = await build(false);
const on = await build(true);
const scenarios: Array<[string, () => Req[]]> = [
  ['client_secret_basic', () => Array.from({ length: perRound }, () => basicReq)],
  ['private_key_jwt ES256', () => jwtReqs(perRound)],
];
for (const [name, make] of scenarios) {
  await cpuPerRequest(on.app, make()); // warm-up
  await cpuPerRequest(off.app, make());
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // alternate which goes first, so neither profits from the other's garbage collections
    if (r % 2) {
      b.push(await cpuPerRequest(off.app, make()));
      a.push(await cpuPerRequest(on.app, make()));
    } else {
      a.push(await cpuPerRequest(on.app, make()));
      b.push(await cpuPerRequest(off.app, make()));
    }
  }
  const mOn = median(a);
  const mOff = median(b);
  console.log(`${name}: CPU per request metrics on ${mOn.toFixed(1)} µs, off ${mOff.toFixed(1)} µs → on/off ${(mOn / mOff).toFixed(3)} (${rounds} rounds × ${perRound}; tokens/s at equal CPU: ${(mOff / mOn).toFixed(3)}×)`);
}
await Promise.all([on.app.close(), off.app.close()]);
on.server.close();
off.server.close();
