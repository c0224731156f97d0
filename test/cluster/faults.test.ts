/**
 * Faults under load, on real `tessera serve` processes:
 * (a) PostgreSQL cut off mid-stream (a TCP proxy in front of it stops): every answer is a genuine
 *     token (clients cached for client_secret_basic) or 503 temporarily_unavailable with
 *     Retry-After — never a 500, never a long hang; private_key_jwt never succeeds while the replay
 *     store is down (fail closed); /readyz says 503; back on its own once the proxy is back.
 * (b) The same for Redis (replay store and change feed): assertions 503, client_secret_basic works.
 * (c) SIGTERM under a keep-alive request stream: exit 0 within the bound, in-flight requests
 *     complete, no 500 and no connection failure before the server stopped accepting.
 * (d) kill -9 under load, on SQLite and on PostgreSQL: every registration, secret rotation and
 *     revocation acknowledged before the kill is there after a restart.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import {
  cliJson,
  closeAdmin,
  dropBackends,
  introspect,
  jwtClient,
  killAll,
  newKek,
  pollUntil,
  REDIS_URL,
  redisUrl,
  requireServers,
  revoke,
  runClientId,
  runCli,
  schemaUrl,
  sleep,
  startInstance,
  TcpProxy,
  tempDir,
  tokenAssertion,
  tokenBasic,
  uniqueSchema,
  type Env,
  type Instance,
  type JwtClient,
} from './helpers.ts';

const ISSUER = 'https://tessera.faults.test';
/** "Never a hang longer than a few seconds": the statement deadline is 5 s, the connect timeout 3 s. */
const MAX_ANSWER_MS = 8000;
/** The server's own shutdown deadline (src/cli/serve.ts). */
const SHUTDOWN_BOUND_MS = 10_000;

after(async () => {
  await killAll();
  await closeAdmin();
});

const notes: string[] = [];
after(() => {
  if (notes.length) console.log(`# faults: ${notes.join('; ')}`);
});

/** A config file with a client_secret_basic client (may introspect) and a private_key_jwt one. */
function writeConfig(dir: string, svc: string, secret: string, jwt: JwtClient): string {
  const file = join(dir, 'tessera.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      demo_client: false,
      clients: [
        { client_id: svc, client_secret: secret, scope: 'read', may_introspect: true },
        { client_id: jwt.clientId, token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256', jwks: { keys: [jwt.key.publicJwk] }, scope: 'read' },
      ],
    }),
  );
  return file;
}

interface Outcome {
  kind: 'basic' | 'jwt';
  start: number;
  end: number;
  status?: number;
  body?: Record<string, unknown>;
  retryAfter?: string | null;
  error?: string;
}

/**
 * Keeps `workers` loops per kind sending token requests until stopped, recording every outcome.
 * Loops stop early once `stopOnError` and the server can no longer be reached.
 */
function startStream(url: string, clients: { svc: string; secret: string; jwt: JwtClient }, opts: { workers?: number; stopOnError?: boolean } = {}) {
  const outcomes: Outcome[] = [];
  let running = true;
  const loop = async (kind: 'basic' | 'jwt') => {
    while (running) {
      const start = Date.now();
      try {
        const res = kind === 'basic' ? await tokenBasic(url, clients.svc, clients.secret, 20_000) : await tokenAssertion(url, clients.jwt.clientId, clients.jwt.assertion(ISSUER), 20_000);
        outcomes.push({ kind, start, end: Date.now(), status: res.status, body: res.body, retryAfter: res.headers.get('retry-after') });
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        outcomes.push({ kind, start, end: Date.now(), error: `${(error as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}` });
        if (opts.stopOnError) await sleep(20);
      }
    }
  };
  const workers = opts.workers ?? 2;
  const done = Promise.all([...Array.from({ length: workers }, () => loop('basic')), ...Array.from({ length: workers }, () => loop('jwt'))]);
  return {
    outcomes,
    async stop(): Promise<Outcome[]> {
      running = false;
      await done;
      return outcomes;
    },
  };
}

type Stream = ReturnType<typeof startStream>;

/**
 * Cleanup of a case that may have failed halfway: its request loops must end (else they keep the
 * test process alive for good), and its instance must be gone.
 */
async function stopAll(stream: Stream | undefined, instance: Instance | undefined): Promise<void> {
  const stopping = stream?.stop();
  await instance?.kill();
  await stopping;
}

const describeOutcome = (o: Outcome) => JSON.stringify({ kind: o.kind, status: o.status, error: o.error, body: o.body, ms: o.end - o.start });

/**
 * Checks every answer of a stream: 200 with a genuine token, or 503 temporarily_unavailable with
 * Retry-After. Tokens answered in `window` (the outage) are all verified, the others sampled.
 */
async function checkAnswers(outcomes: Outcome[], jwks: JSONWebKeySet, window: { from: number; to: number }): Promise<void> {
  const keys = createLocalJWKSet(jwks);
  for (const o of outcomes) {
    assert.equal(o.error, undefined, `no request may fail at the connection level: ${describeOutcome(o)}`);
    assert.ok(o.end - o.start <= MAX_ANSWER_MS, `answered within ${MAX_ANSWER_MS} ms: ${describeOutcome(o)}`);
    assert.ok(o.status === 200 || o.status === 503, `only 200 or 503: ${describeOutcome(o)}`);
    if (o.status === 503) {
      assert.equal(o.body?.error, 'temporarily_unavailable', describeOutcome(o));
      assert.match(o.retryAfter ?? '', /^[1-9]\d*$/, `Retry-After on a 503: ${describeOutcome(o)}`);
    }
  }
  // Genuine tokens: signed by the instance's key, for the right issuer.
  const tokens = outcomes.filter((o) => o.status === 200);
  const inWindow = new Set(tokens.filter((o) => o.end >= window.from && o.start <= window.to));
  const others = tokens.filter((o) => !inWindow.has(o));
  const sample = others.filter((_, i) => i % Math.max(1, Math.ceil(others.length / 200)) === 0);
  for (const o of [...inWindow, ...sample]) await jwtVerify(o.body!.access_token as string, keys, { issuer: ISSUER, typ: 'at+jwt' });
}

/** The instance's last output lines, for a failure message. */
const logTail = (instance: Instance, lines = 20) => instance.output().trimEnd().split('\n').slice(-lines).join('\n');

const readyz = async (url: string) => (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(15_000) })).status;

describe('faults under load', { timeout: 120_000 }, () => {
  it('(a) PostgreSQL unreachable mid-stream: cached tokens or 503 + Retry-After, assertions fail closed, /readyz 503, recovery on its own', async () => {
    await requireServers();
    const schema = uniqueSchema();
    const proxy = new TcpProxy(schemaUrl(schema));
    const dir = tempDir();
    const svc = runClientId(schema, 'svc');
    const jwt = jwtClient(runClientId(schema, 'jwt'));
    const secret = randomBytes(24).toString('base64url');
    let instance: Instance | undefined;
    let stream: Stream | undefined;
    try {
      await proxy.start();
      const env: Env = { TESSERA_STORAGE_URL: schemaUrl(schema, proxy.port), TESSERA_KEK: newKek(), TESSERA_ISSUER: ISSUER, TESSERA_CONFIG: writeConfig(dir, svc, secret, jwt) };
      instance = await startInstance({ name: 'pg-fault', env, cwd: dir });
      const jwks = (await (await fetch(`${instance.url}/jwks`)).json()) as JSONWebKeySet;
      stream = startStream(instance.url, { svc, secret, jwt });
      await sleep(1000);

      const downAt = Date.now();
      await proxy.stop();
      const downDone = Date.now();
      const readyStarted = Date.now();
      assert.equal(await readyz(instance.url), 503, '/readyz while PostgreSQL is down');
      notes.push(`(a) /readyz 503 after ${Date.now() - readyStarted} ms`);
      await sleep(Math.max(0, 5000 - (Date.now() - downDone)));

      const upAt = Date.now();
      await proxy.start();
      const recovery = await pollUntil(
        async () => (await readyz(instance!.url)) === 200 && (await tokenAssertion(instance!.url, jwt.clientId, jwt.assertion(ISSUER))).status === 200,
        'recovery after PostgreSQL is back',
        20_000,
        100,
      );
      const recoveredAt = Date.now();
      notes.push(`(a) recovered ${recovery} ms after PostgreSQL was back`);
      await sleep(500);
      const outcomes = await stream.stop();

      await checkAnswers(outcomes, jwks, { from: downAt, to: recoveredAt });
      const before = outcomes.filter((o) => o.end < downAt);
      const during = outcomes.filter((o) => o.start >= downDone && o.end <= upAt);
      const afterwards = outcomes.filter((o) => o.start >= recoveredAt);
      assert.ok(before.length > 0 && during.length > 0 && afterwards.length > 0, 'requests before, during and after the outage');
      assert.deepEqual(before.filter((o) => o.status !== 200).map(describeOutcome), [], 'all succeed before the outage');
      const jwtDuring = during.filter((o) => o.kind === 'jwt');
      assert.ok(jwtDuring.length > 0, 'assertions were tried during the outage');
      assert.deepEqual(jwtDuring.filter((o) => o.status === 200).map(describeOutcome), [], 'no private_key_jwt request succeeds while the replay store is down');
      assert.deepEqual(afterwards.filter((o) => o.status !== 200).map(describeOutcome), [], `all succeed after recovery; the server's last lines:\n${logTail(instance)}`);
      const basicDuring = during.filter((o) => o.kind === 'basic');
      notes.push(
        `(a) during the outage: basic ${basicDuring.filter((o) => o.status === 200).length}×200 ${basicDuring.filter((o) => o.status === 503).length}×503, ` +
          `jwt ${jwtDuring.filter((o) => o.status === 503).length}×503, slowest ${Math.max(...during.map((o) => o.end - o.start))} ms`,
      );
      assert.equal(await instance.stop(), 0);
    } finally {
      await stopAll(stream, instance);
      await proxy.stop();
      await dropBackends(schema, [svc, jwt.clientId]);
    }
  });

  it('(b) Redis unreachable mid-stream: assertions refused with 503 (fail closed), client_secret_basic still works, /readyz 503, recovery on its own', async () => {
    await requireServers();
    const schema = uniqueSchema();
    const proxy = new TcpProxy(REDIS_URL);
    const dir = tempDir();
    const svc = runClientId(schema, 'svc');
    const jwt = jwtClient(runClientId(schema, 'jwt'));
    const secret = randomBytes(24).toString('base64url');
    let instance: Instance | undefined;
    let stream: Stream | undefined;
    try {
      await proxy.start();
      const env: Env = {
        TESSERA_STORAGE_URL: schemaUrl(schema),
        TESSERA_REDIS_URL: redisUrl(proxy.port),
        TESSERA_KEK: newKek(),
        TESSERA_ISSUER: ISSUER,
        TESSERA_CONFIG: writeConfig(dir, svc, secret, jwt),
      };
      instance = await startInstance({ name: 'redis-fault', env, cwd: dir });
      const jwks = (await (await fetch(`${instance.url}/jwks`)).json()) as JSONWebKeySet;
      stream = startStream(instance.url, { svc, secret, jwt });
      await sleep(1000);

      const downAt = Date.now();
      await proxy.stop();
      const downDone = Date.now();
      assert.equal(await readyz(instance.url), 503, '/readyz while Redis is down');
      // Assertions wait up to 2 s for Redis to come back before giving up: long enough for several.
      await sleep(Math.max(0, 6000 - (Date.now() - downDone)));

      const upAt = Date.now();
      await proxy.start();
      const recovery = await pollUntil(
        async () => (await readyz(instance!.url)) === 200 && (await tokenAssertion(instance!.url, jwt.clientId, jwt.assertion(ISSUER))).status === 200,
        'recovery after Redis is back',
        20_000,
        100,
      );
      const recoveredAt = Date.now();
      notes.push(`(b) recovered ${recovery} ms after Redis was back`);
      await sleep(500);
      const outcomes = await stream.stop();

      await checkAnswers(outcomes, jwks, { from: downAt, to: recoveredAt });
      const before = outcomes.filter((o) => o.end < downAt);
      const during = outcomes.filter((o) => o.start >= downDone && o.end <= upAt);
      const afterwards = outcomes.filter((o) => o.start >= recoveredAt);
      assert.ok(before.length > 0 && during.length > 0 && afterwards.length > 0, 'requests before, during and after the outage');
      assert.deepEqual(before.filter((o) => o.status !== 200).map(describeOutcome), [], 'all succeed before the outage');
      const jwtDuring = during.filter((o) => o.kind === 'jwt');
      const basicDuring = during.filter((o) => o.kind === 'basic');
      assert.ok(jwtDuring.length > 0 && basicDuring.length > 0);
      assert.deepEqual(jwtDuring.filter((o) => o.status !== 503).map(describeOutcome), [], 'every assertion is refused with 503 while Redis is down');
      assert.deepEqual(basicDuring.filter((o) => o.status !== 200).map(describeOutcome), [], 'client_secret_basic does not need Redis');
      assert.deepEqual(afterwards.filter((o) => o.status !== 200).map(describeOutcome), [], `all succeed after recovery; the server's last lines:\n${logTail(instance)}`);
      notes.push(`(b) during the outage: basic ${basicDuring.length}×200, jwt ${jwtDuring.length}×503, slowest ${Math.max(...during.map((o) => o.end - o.start))} ms`);
      assert.equal(await instance.stop(), 0);
    } finally {
      await stopAll(stream, instance);
      await proxy.stop();
      await dropBackends(schema, [svc, jwt.clientId]);
    }
  });

  it('(c) SIGTERM under a keep-alive stream: in-flight requests complete, no 500, no connection failure before it stops accepting, exit 0', async () => {
    const dir = tempDir();
    const schema = uniqueSchema(); // names the clients only: this instance runs on SQLite
    const svc = runClientId(schema, 'svc');
    const jwt = jwtClient(runClientId(schema, 'jwt'));
    const secret = randomBytes(24).toString('base64url');
    const env: Env = { TESSERA_STORAGE_URL: `sqlite:${join(dir, 'tessera.db')}`, TESSERA_KEK: newKek(), TESSERA_ISSUER: ISSUER, TESSERA_CONFIG: writeConfig(dir, svc, secret, jwt) };
    const instance = await startInstance({ name: 'sigterm', env, cwd: dir });
    let stream: Stream | undefined;
    try {
      stream = startStream(instance.url, { svc, secret, jwt }, { stopOnError: true });
      await sleep(1000);

      // A request the server is reading when the signal comes: headers sent, half the body held back.
      const body = new URLSearchParams({ grant_type: 'client_credentials' }).toString();
      const slow = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${instance.url}/oauth2/token`, {
          method: 'POST',
          agent: false,
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length), authorization: 'Basic ' + Buffer.from(`${svc}:${secret}`).toString('base64') },
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        req.flushHeaders();
        req.write(body.slice(0, 10));
        setTimeout(() => req.end(body.slice(10)), 2000); // sent 1.2 s after the SIGTERM, within the 3 s grace
      });
      // Time for the server to read the headers first: a request it has not read when the signal
      // comes is, to it, one begun after the signal (503), which this case is not about.
      await sleep(800);

      const signalledAt = Date.now();
      instance.child.kill('SIGTERM');
      const slowAnswer = await slow;
      const { code } = await instance.exited;
      const exitedAt = Date.now();
      const outcomes = await stream.stop();

      assert.equal(code, 0, instance.output().slice(-2000));
      assert.ok(exitedAt - signalledAt < SHUTDOWN_BOUND_MS, `exited ${exitedAt - signalledAt} ms after SIGTERM`);
      assert.equal(slowAnswer.status, 200, `the in-flight request completes: ${slowAnswer.body}`);
      assert.equal(typeof JSON.parse(slowAnswer.body).access_token, 'string');

      const stopping = instance.logs('shutting down')[0];
      assert.ok(stopping, 'the server logged that it was shutting down');
      const stoppedAcceptingAt = Number(stopping.time);
      assert.ok(stoppedAcceptingAt >= signalledAt - 5, 'logged after the signal');
      const answered = outcomes.filter((o) => o.status !== undefined);
      assert.ok(answered.filter((o) => o.end < signalledAt).length > 20, 'a stream was running');
      assert.deepEqual(answered.filter((o) => o.status !== 200 && o.status !== 503).map(describeOutcome), [], 'every answer is 200 (or 503 while closing)');
      assert.deepEqual(answered.filter((o) => o.status === 503 && o.start < stoppedAcceptingAt).map(describeOutcome), [], 'no 503 before it stopped accepting');
      const failedEarly = outcomes.filter((o) => o.error !== undefined && o.end < stoppedAcceptingAt);
      assert.deepEqual(failedEarly.map(describeOutcome), [], 'no connection failure before the server stopped accepting');
      notes.push(
        `(c) exit 0 ${exitedAt - signalledAt} ms after SIGTERM (the held request finished at +1200 ms); ` +
          `${answered.length} answers, ${answered.filter((o) => o.status === 503).length}×503 while closing, ${outcomes.length - answered.length} refused after it stopped accepting`,
      );
    } finally {
      await stopAll(stream, instance);
    }
  });

  for (const backend of ['sqlite', 'postgres'] as const) {
    it(`(d) kill -9 under load (${backend}): every acknowledged registration, rotation and revocation survives`, async () => {
      if (backend === 'postgres') await requireServers();
      const dir = tempDir();
      const schema = uniqueSchema();
      const svc = runClientId(schema, 'svc');
      const jwt = jwtClient(runClientId(schema, 'jwt'));
      const secret = randomBytes(24).toString('base64url');
      const env: Env = {
        TESSERA_STORAGE_URL: backend === 'sqlite' ? `sqlite:${join(dir, 'tessera.db')}` : schemaUrl(schema),
        TESSERA_KEK: newKek(),
        TESSERA_ISSUER: ISSUER,
        TESSERA_CONFIG: writeConfig(dir, svc, secret, jwt),
      };
      let instance: Instance | undefined;
      let loading = true; // the load loops below run while this holds; a failure ends them too
      try {
        instance = await startInstance({ name: `${backend}-kill`, env, cwd: dir });
        const url = instance.url;
        const rotating = await cliJson<{ client_secret: string }>(['clients', 'create', '--id', 'rot', '--scope', 'read'], env, dir);
        const rotSecrets = [rotating.value.client_secret];

        // Server-side writes: token, then revoke; a revocation acknowledged with 200 must stay.
        const acknowledged: string[] = [];
        const kept: string[] = []; // issued, never revoked: must stay active
        const revoker = async (n: number) => {
          while (loading) {
            try {
              const issued = await tokenBasic(url, svc, secret, 5000);
              if (issued.status !== 200) continue;
              const token = issued.body.access_token as string;
              if (n === 0 && kept.length < 5) {
                kept.push(token);
                continue;
              }
              const res = await revoke(url, svc, secret, token, 5000);
              if (res.status === 200) acknowledged.push(token);
            } catch {
              await sleep(20); // the server is gone
            }
          }
        };
        // Admin writes (CLI processes on the same storage): registrations and secret rotations.
        const created: Array<{ id: string; secret: string }> = [];
        let admins = 0;
        const admin = async () => {
          for (let i = 0; loading; i++) {
            if (i % 2 === 0) {
              const r = await runCli(['clients', 'create', '--id', `new-${i}`, '--scope', 'read'], env, dir);
              if (r.code === 0) created.push({ id: `new-${i}`, secret: (JSON.parse(r.stdout) as { client_secret: string }).client_secret });
            } else {
              const r = await runCli(['clients', 'rotate-secret', 'rot'], env, dir);
              if (r.code === 0) rotSecrets.push((JSON.parse(r.stdout) as { client_secret: string }).client_secret);
            }
            admins++;
          }
        };
        const load = Promise.all([revoker(0), revoker(1), revoker(2), admin()]);
        await pollUntil(async () => admins >= 3 && acknowledged.length >= 30, 'some acknowledged writes', 30_000, 50);

        await instance.kill(); // SIGKILL: no graceful anything
        const ackedAtKill = acknowledged.length;
        loading = false;
        await load;
        assert.equal(acknowledged.length, ackedAtKill, 'nothing acknowledged after the kill');

        instance = await startInstance({ name: `${backend}-restarted`, env, cwd: dir });
        const again = instance.url;
        for (const token of kept) assert.equal((await introspect(again, svc, secret, token)).body.active, true, 'unrevoked tokens stay active');
        const stillActive: string[] = [];
        for (const token of acknowledged) if ((await introspect(again, svc, secret, token)).body.active !== false) stillActive.push(token);
        assert.equal(stillActive.length, 0, `${stillActive.length} of ${acknowledged.length} acknowledged revocations were lost`);
        for (const c of created) assert.equal((await tokenBasic(again, c.id, c.secret)).status, 200, `registered client ${c.id}`);
        assert.equal((await tokenBasic(again, 'rot', rotSecrets.at(-1)!)).status, 200, 'the latest rotated secret works');
        for (const old of rotSecrets.slice(0, -1)) assert.equal((await tokenBasic(again, 'rot', old)).status, 401, 'earlier secrets do not');
        notes.push(`(d ${backend}) ${acknowledged.length} revocations, ${created.length} registrations, ${rotSecrets.length - 1} rotations survived kill -9`);
        assert.equal(await instance.stop(), 0);
      } finally {
        loading = false;
        await instance?.kill();
        if (backend === 'postgres') await dropBackends(schema, [svc, jwt.clientId]);
      }
    });
  }
});
