/**
 * The fuzzing harness: a real server on loopback (memory storage, throttle off so that every
 * request reaches the checks), requests generated with fast-check and sent as raw HTTP/1.1 bytes
 * over a socket (so that malformed headers reach the server as a client would send them), and the
 * oracles checked on every response:
 * - never a 5xx, and always an answer;
 * - never an access token for a request the generator built with invalid credentials;
 * - introspection never reports a forged or altered token active.
 * Afterwards the server must still serve: /healthz, a real token, and that token still active.
 * Used by test/fuzz/fuzz.test.ts (≈10,000 requests in `npm test`) and scripts/fuzz.mjs (`npm run fuzz`).
 */
import fc from 'fast-check';
import net from 'node:net';
import { startTestServer, type TestServer } from '../fixtures/server.ts';
import { basic, form, generateTestKey, JWT_BEARER, type TestKey } from '../fixtures/assertions.ts';
import { requestArbitrary, type Fixture, type FuzzRequest } from './arbitraries.ts';

export interface FuzzTarget {
  server: TestServer;
  fixture: Fixture;
  port: number;
  close(): Promise<void>;
}

export async function startFuzzTarget(): Promise<FuzzTarget> {
  const server = await startTestServer({ config: { tokens: { ttl: 3600 } } });
  const port = Number(new URL(server.url).port);
  const create = async (metadata: Record<string, unknown>) => (await server.server.createClient('default', metadata as never)).client_secret;
  const key: TestKey = generateTestKey('ES256', 'fuzz-k1');
  const secrets = {
    basic: (await create({ client_id: 'fz-basic', scope: 'read write', may_introspect: true }))!,
    post: (await create({ client_id: 'fz-post', scope: 'read', token_endpoint_auth_method: 'client_secret_post' }))!,
    jwt: (await create({ client_id: 'fz-jwt', scope: 'read', token_endpoint_auth_method: 'client_secret_jwt' }))!,
    healthy: (await create({ client_id: 'fz-healthy', scope: 'read', may_introspect: true }))!,
  };
  await create({ client_id: 'fz-pk', scope: 'read', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] } });
  await create({ client_id: 'fz-disabled', scope: 'read', disabled: true });
  const realToken = await issue(port, 'fz-healthy', secrets.healthy);
  const fixture: Fixture = { issuer: server.issuer, tokenEndpoint: `${server.issuer}/oauth2/token`, key, secrets, realToken };
  return { server, fixture, port, close: () => server.close() };
}

async function issue(port: number, id: string, secret: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ grant_type: 'client_credentials' }),
  });
  if (res.status !== 200) throw new Error(`fixture token request failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** The raw bytes of a request: request line, headers as generated, Content-Length, Connection: close. */
export function encode(req: FuzzRequest, port: number): Buffer {
  const body = typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : Buffer.from(req.body);
  const head = [`${req.method} ${req.path} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
  for (const [name, value] of req.headers) head.push(`${name}: ${value}`);
  head.push(`Content-Length: ${body.length}`, 'Connection: close', '', '');
  return Buffer.concat([Buffer.from(head.join('\r\n'), 'latin1'), body]);
}

export interface RawResponse {
  status: number;
  body: string;
}

/** Sends one request on a new connection and reads the whole answer (the server closes it). */
export function send(port: number, bytes: Buffer, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => {}); // a reset after the answer is fine; no answer at all is judged below
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!m) return reject(new Error(`no HTTP answer (got ${JSON.stringify(text.slice(0, 80))})`));
      const at = text.indexOf('\r\n\r\n');
      resolve({ status: Number(m[1]), body: at < 0 ? '' : Buffer.from(text.slice(at + 4), 'latin1').toString('utf8') });
    });
    // write, not end: a client that half-closes gets its in-flight request aborted by Node's HTTP
    // server (httpAllowHalfOpen is off), which is not what a fuzzer is after. The server closes.
    socket.write(bytes);
  });
}

export interface FuzzStats {
  requests: number;
  byEndpoint: Record<string, number>;
  byStatus: Record<string, number>;
  /** Tokens issued to requests the generator meant to be valid. */
  tokensForValid: number;
  ms: number;
}

/** Checks one response against the oracles; returns a failure message or undefined. */
export function judge(req: FuzzRequest, res: RawResponse): string | undefined {
  if (res.status >= 500) return `status ${res.status}: ${res.body.slice(0, 300)}`;
  if (req.mayIssue === false && /"access_token"/.test(res.body)) return `a token was issued for invalid input (${req.why})`;
  if (req.endpoint === 'introspect' && req.forgedToken && /"active"\s*:\s*true/.test(res.body)) return `a forged token is active (${req.why})`;
  return undefined;
}

/** Runs `runs` generated requests against the target; throws (with the shrunk request) on a failure. */
export async function runFuzz(target: FuzzTarget, opts: { runs: number; seed: number; onProgress?: (stats: FuzzStats) => void }): Promise<FuzzStats> {
  const stats: FuzzStats = { requests: 0, byEndpoint: {}, byStatus: {}, tokensForValid: 0, ms: 0 };
  const started = performance.now();
  const out = await fc.check(
    fc.asyncProperty(requestArbitrary(target.fixture), async (req) => {
      const res = await send(target.port, encode(req, target.port));
      stats.requests++;
      stats.byEndpoint[req.endpoint] = (stats.byEndpoint[req.endpoint] ?? 0) + 1;
      stats.byStatus[res.status] = (stats.byStatus[res.status] ?? 0) + 1;
      if (req.mayIssue === true && /"access_token"/.test(res.body)) stats.tokensForValid++;
      if (opts.onProgress && stats.requests % 10_000 === 0) opts.onProgress({ ...stats, ms: performance.now() - started });
      const failure = judge(req, res);
      if (failure) throw new Error(failure);
    }),
    { numRuns: opts.runs, seed: opts.seed, endOnFailure: true },
  );
  if (out.failed) {
    const cause = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
    throw new Error(`fuzzing failed after ${out.numRuns} requests (seed ${out.seed}, path ${out.counterexamplePath}): ${cause}\nrequest: ${JSON.stringify(out.counterexample?.[0]).slice(0, 4000)}`);
  }
  stats.ms = performance.now() - started;
  return stats;
}

/** The server still serves: health, a fresh token for a client never fuzzed, the first token active. */
export async function stillServing(target: FuzzTarget): Promise<void> {
  const { port, fixture } = target;
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  if (health.status !== 200) throw new Error(`healthz ${health.status}`);
  await issue(port, 'fz-healthy', fixture.secrets.healthy);
  const res = await fetch(`http://127.0.0.1:${port}/oauth2/introspect`, {
    method: 'POST',
    headers: { authorization: basic('fz-healthy', fixture.secrets.healthy), 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ token: fixture.realToken }),
  });
  const body = (await res.json()) as { active?: boolean };
  if (res.status !== 200 || body.active !== true) throw new Error(`the real token is no longer active: ${res.status} ${JSON.stringify(body)}`);
}

export { JWT_BEARER };
