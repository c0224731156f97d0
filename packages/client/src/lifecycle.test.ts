/**
 * Token lifecycle of the SDK against real local HTTP servers: background renewal, serving the
 * still-valid token when renewal fails, the default lifetime without `expires_in`, cancellation,
 * connect/per-request/total timeouts (discovery included), shared caches and hooks.
 * Each "gap" test failed on the SDK before this work (noted per test).
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  MemoryTokenCache,
  TokenClient,
  TransportError,
  type TokenClientOptions,
  type TokenErrorEvent,
  type TokenRequestEvent,
  type TokenResponseEvent,
} from './index.ts';

type Answer = { status: number; body?: unknown; headers?: Record<string, string> } | 'hold' | 'hang' | 'headers-only' | 'destroy';

/** An authorization server whose token endpoint answers from a script; `hold` answers wait for `release()`. */
class ScriptedServer {
  readonly server: Server;
  origin = '';
  script: Answer[] = [];
  /** `expires_in` of the default answer; undefined omits it. */
  expiresIn: number | undefined = 300;
  tokenCalls = 0;
  /** Token requests whose client went away before the answer. */
  abandoned = 0;
  metadataHangs = false;
  apiCalls = 0;
  /** Access tokens the API refuses with 401 invalid_token. */
  revoked = new Set<string>();
  readonly #held: Array<() => void> = [];
  readonly #open = new Set<ServerResponse>();

  constructor() {
    this.server = createServer((req, res) => void this.#handle(req, res));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.#open) res.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  reset(): void {
    for (const res of this.#open) res.destroy();
    this.#open.clear();
    this.#held.length = 0;
    this.script = [];
    this.expiresIn = 300;
    this.tokenCalls = 0;
    this.abandoned = 0;
    this.metadataHangs = false;
    this.apiCalls = 0;
    this.revoked.clear();
  }

  get held(): number {
    return this.#held.length;
  }

  /** Answers the oldest held token request. */
  release(): void {
    this.#held.shift()?.();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for await (const _ of req); // drain the body
    const path = new URL(req.url ?? '/', this.origin).pathname;
    this.#open.add(res);
    res.on('close', () => {
      this.#open.delete(res);
      if (!res.writableEnded && path === '/token') this.abandoned++;
    });
    if (path === '/.well-known/oauth-authorization-server') {
      if (this.metadataHangs) return;
      return send(res, 200, { issuer: this.origin, token_endpoint: `${this.origin}/token` });
    }
    if (path === '/api') {
      this.apiCalls++;
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (this.revoked.has(token)) return send(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
      return send(res, 200, { token });
    }
    if (path !== '/token') return send(res, 404, { error: 'not_found' });
    const n = ++this.tokenCalls;
    const answer = this.script.shift() ?? { status: 200, body: this.#token(n) };
    if (answer === 'hang') return;
    if (answer === 'destroy') return void req.socket.destroy();
    if (answer === 'headers-only') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"access_token":');
      return;
    }
    if (answer === 'hold') return void this.#held.push(() => send(res, 200, this.#token(n)));
    send(res, answer.status, answer.body, answer.headers);
  }

  #token(n: number): Record<string, unknown> {
    return { access_token: `token-${n}`, token_type: 'Bearer', ...(this.expiresIn === undefined ? {} : { expires_in: this.expiresIn }) };
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 5 ms for up to 5 s. */
async function waitFor(condition: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await wait(5);
  assert.ok(condition(), `${what} not reached within 5 s`);
}

/** `promise`, or the string 'blocked' when it has not settled after `ms` (a guard against hangs, not a timing assertion). */
function orBlocked<T>(promise: Promise<T>, ms = 2_000): Promise<T | 'blocked'> {
  return Promise.race([promise, wait(ms).then(() => 'blocked' as const)]);
}

const as = new ScriptedServer();
const T0 = 1_700_000_000_000;

function client(overrides: Partial<TokenClientOptions> = {}): TokenClient {
  return new TokenClient({
    issuer: as.origin,
    clientId: 'svc-a',
    auth: { method: 'client_secret_basic', clientSecret: 'secret' },
    tokenEndpoint: `${as.origin}/token`,
    baseDelayMs: 1,
    telemetry: false,
    ...overrides,
  });
}

before(() => as.start());
after(() => as.stop());
beforeEach(() => as.reset());

describe('background renewal', () => {
  // Gap: a renewal in progress blocked callers holding a valid token (344 ms behind a slow endpoint).
  it('callers with a valid token never wait for the renewal in progress', async () => {
    let now = T0;
    const c = client({ now: () => now });
    assert.equal((await c.getToken()).accessToken, 'token-1');
    now += 280_000; // 20 s left: inside the 30 s refresh margin
    as.script.push('hold'); // the renewal request gets no answer until released
    const during = await orBlocked(Promise.all(Array.from({ length: 10 }, () => c.getToken())));
    assert.notEqual(during, 'blocked', 'getToken waited for the renewal although the cached token is valid');
    assert.ok((during as Array<{ accessToken: string }>).every((t) => t.accessToken === 'token-1'));
    await waitFor(() => as.held === 1, 'renewal request');
    assert.equal(as.tokenCalls, 2, 'one renewal for all callers');
    assert.equal((await c.getToken()).accessToken, 'token-1');
    as.release();
    await waitFor(() => as.tokenCalls === 2 && as.held === 0);
    for (let i = 0; i < 100 && (await c.getToken()).accessToken !== 'token-2'; i++) await wait(5);
    assert.equal((await c.getToken()).accessToken, 'token-2');
    assert.equal(as.tokenCalls, 2);
  });

  // Gap: the server down → getToken threw although the cached token was valid for minutes.
  it('serves the still-valid token when renewal fails, retries with backoff, fails once it expired', async () => {
    let now = T0;
    const errors: TokenErrorEvent[] = [];
    const requests: TokenRequestEvent[] = [];
    const c = client({
      now: () => now,
      refreshMarginSeconds: 120,
      maxRetries: 1,
      renewalRetryDelayMs: 10_000,
      onError: (e) => errors.push(e),
      onTokenRequest: (e) => requests.push(e),
    });
    await c.getToken();
    now += 200_000; // 100 s left, renewal due
    as.script.push('destroy', 'destroy'); // the server is down for both attempts of the renewal
    assert.equal((await c.getToken()).accessToken, 'token-1');
    await waitFor(() => errors.length === 1, 'the failed renewal');
    assert.ok(errors[0]!.error instanceof TransportError);
    assert.equal(errors[0]!.background, true);
    assert.equal(errors[0]!.servedCachedToken, true);
    assert.equal(errors[0]!.phase, 'token');
    assert.equal(requests.length, 3);
    assert.deepEqual(requests.slice(1).map((r) => [r.attempt, r.background]), [[1, true], [2, true]]);

    // Within the backoff: still served, no new request.
    now += 1_000;
    assert.equal((await c.getToken()).accessToken, 'token-1');
    await wait(20);
    assert.equal(requests.length, 3);

    // After the backoff: another renewal (which fails again), the token is still served.
    now += 10_000;
    as.script.push({ status: 503 }, { status: 503 });
    assert.equal((await c.getToken()).accessToken, 'token-1');
    await waitFor(() => errors.length === 2, 'the second failed renewal');
    assert.equal(errors[1]!.servedCachedToken, true);

    // Expired (less than the 5 s skew left): now the caller waits, and gets the failure.
    now = T0 + 296_000;
    as.script.push('destroy', 'destroy');
    await assert.rejects(c.getToken(), TransportError);
    assert.equal(errors[2]!.servedCachedToken, false);
    assert.equal(errors[2]!.background, false);
    // …and recovers as soon as the server answers again.
    assert.equal((await c.getToken()).accessToken, `token-${as.tokenCalls}`);
  });
});

describe('lifetime without expires_in', () => {
  // Gap: a response without expires_in was never cached (11 calls → 11 requests).
  it('is cached for defaultExpiresInSeconds (default 60)', async () => {
    as.expiresIn = undefined;
    const c = client({ now: () => T0 });
    const tokens = [];
    for (let i = 0; i < 11; i++) tokens.push(await c.getToken());
    assert.equal(as.tokenCalls, 1);
    assert.equal(tokens[10]!.expiresAt, T0 + 60_000);

    const custom = client({ now: () => T0, defaultExpiresInSeconds: 900 });
    assert.equal((await custom.getToken()).expiresAt, T0 + 900_000);
  });

  it('defaultExpiresInSeconds: 0 keeps such tokens uncached; an explicit expires_in of 0 is never cached', async () => {
    as.expiresIn = undefined;
    const c = client({ defaultExpiresInSeconds: 0 });
    for (let i = 0; i < 3; i++) await c.getToken();
    assert.equal(as.tokenCalls, 3);
    as.expiresIn = 0;
    await client().getToken();
    await client().getToken();
    assert.equal(as.tokenCalls, 5);
  });
});

describe('cancellation', () => {
  // Gap: getToken took no AbortSignal.
  it('getToken({ signal }) rejects with the abort reason and aborts the request nobody else waits for', async () => {
    as.script.push('hang');
    const c = client();
    const controller = new AbortController();
    const pending = c.getToken({ signal: controller.signal });
    await waitFor(() => as.tokenCalls === 1, 'token request');
    controller.abort();
    const outcome = await orBlocked(pending.then(() => 'resolved', (e: unknown) => e));
    assert.ok(outcome instanceof Error && outcome.name === 'AbortError', `got ${String(outcome)}`);
    await waitFor(() => as.abandoned === 1, 'the server seeing the request cancelled');
    // The next caller starts afresh.
    assert.equal((await c.getToken()).accessToken, 'token-2');
  });

  it('an aborted signal fails at once, without a request; custom reasons are kept', async () => {
    const c = client();
    await assert.rejects(c.getToken({ signal: AbortSignal.abort() }), { name: 'AbortError' });
    const reason = new Error('shutting down');
    await assert.rejects(c.getToken({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
    assert.equal(as.tokenCalls, 0);
    await assert.rejects(c.getToken({ signal: 'soon' as never }), TypeError);
  });

  it('one caller leaving does not cancel the request others wait for', async () => {
    as.script.push('hold');
    const c = client();
    const controller = new AbortController();
    const leaving = c.getToken({ signal: controller.signal });
    const staying = c.getToken({ signal: new AbortController().signal });
    await waitFor(() => as.held === 1);
    controller.abort();
    await assert.rejects(leaving, { name: 'AbortError' });
    as.release();
    assert.equal((await staying).accessToken, 'token-1');
    assert.equal(as.abandoned, 0);
  });

  // Gap: client.fetch(url, { signal }) ignored the signal for the token request.
  it('client.fetch(url, { signal }) honours the signal while the token is requested', async () => {
    as.script.push('hang');
    const c = client();
    const controller = new AbortController();
    const pending = c.fetch(`${as.origin}/api`, { signal: controller.signal });
    await waitFor(() => as.tokenCalls === 1);
    controller.abort();
    const outcome = await orBlocked(pending.then(() => 'resolved', (e: unknown) => e));
    assert.ok(outcome instanceof Error && outcome.name === 'AbortError', `got ${String(outcome)}`);
    assert.equal(as.apiCalls, 0);
  });

  it('cancels a discovery in progress', async () => {
    as.metadataHangs = true;
    const c = client({ tokenEndpoint: undefined });
    const controller = new AbortController();
    const pending = c.getToken({ signal: controller.signal });
    await wait(50);
    controller.abort();
    const outcome = await orBlocked(pending.then(() => 'resolved', (e: unknown) => e));
    assert.ok(outcome instanceof Error && outcome.name === 'AbortError', `got ${String(outcome)}`);
    as.metadataHangs = false;
    assert.equal((await c.getToken()).accessToken, 'token-1', 'discovery is retried by the next call');
  });
});

describe('timeouts', () => {
  // Gap: a hung token endpoint took about 41 s to fail (4 attempts × 10 s + backoff).
  it('totalTimeoutMs bounds a token request across all its attempts', { timeout: 5_000 }, async () => {
    as.script.push('hang', 'hang', 'hang', 'hang');
    const error = await client({ totalTimeoutMs: 300, timeoutMs: 10_000, maxRetries: 3 })
      .getToken()
      .catch((e: unknown) => e);
    assert.ok(error instanceof TransportError, String(error));
    assert.match(error.message, /totalTimeoutMs \(300 ms\)/);
  });

  // Gap: … and about 82 s during discovery.
  it('totalTimeoutMs bounds discovery too', { timeout: 5_000 }, async () => {
    as.metadataHangs = true;
    const errors: TokenErrorEvent[] = [];
    const error = await client({ tokenEndpoint: undefined, totalTimeoutMs: 300, onError: (e) => errors.push(e) })
      .getToken()
      .catch((e: unknown) => e);
    assert.ok(error instanceof TransportError, String(error));
    assert.match(error.message, /totalTimeoutMs/);
    assert.equal(errors[0]!.phase, 'discovery');
    assert.equal(as.tokenCalls, 0);
  });

  it('connectTimeoutMs bounds each attempt until the response headers, then retries', { timeout: 5_000 }, async () => {
    as.script.push('hang');
    const responses: TokenResponseEvent[] = [];
    const c = client({ connectTimeoutMs: 100, maxRetries: 1, onTokenResponse: (e) => responses.push(e) });
    assert.equal((await c.getToken()).accessToken, 'token-2');
    assert.deepEqual(responses.map((r) => [r.attempt, r.status]), [[2, 200]]);
    as.script.push('hang', 'hang');
    const error = await client({ connectTimeoutMs: 100, maxRetries: 1 }).getToken().catch((e: unknown) => e);
    assert.ok(error instanceof TransportError);
    assert.match(error.message, /no response headers within 100 ms/);
  });

  it('timeoutMs also covers a response body that never completes', { timeout: 5_000 }, async () => {
    as.script.push('headers-only');
    const error = await client({ timeoutMs: 200, maxRetries: 0 }).getToken().catch((e: unknown) => e);
    assert.ok(error instanceof TransportError, String(error));
  });

  it('rejects bad timeout options', () => {
    assert.throws(() => client({ connectTimeoutMs: 0 }), TypeError);
    assert.throws(() => client({ totalTimeoutMs: -1 }), TypeError);
    assert.throws(() => client({ defaultExpiresInSeconds: -1 }), TypeError);
    assert.throws(() => client({ onError: 'log' as never }), TypeError);
    assert.throws(() => client({ cache: {} as never }), TypeError);
  });
});

describe('shared token cache', () => {
  it('replicas sharing a store request one token, and adopt a renewal made by another replica', async () => {
    let now = T0;
    const store = new MemoryTokenCache({ now: () => now });
    const a = client({ now: () => now, cache: store });
    const b = client({ now: () => now, cache: store });
    assert.equal((await a.getToken({ scope: 'read' })).accessToken, 'token-1');
    assert.equal((await b.getToken({ scope: 'read' })).accessToken, 'token-1');
    assert.equal(as.tokenCalls, 1);

    now += 280_000; // both due for renewal; A renews first
    await a.getToken({ scope: 'read' });
    await waitFor(() => as.tokenCalls === 2);
    for (let i = 0; i < 100 && (await a.getToken({ scope: 'read' })).accessToken !== 'token-2'; i++) await wait(5);
    await b.getToken({ scope: 'read' }); // B's renewal finds A's new token in the store
    for (let i = 0; i < 100 && (await b.getToken({ scope: 'read' })).accessToken !== 'token-2'; i++) await wait(5);
    assert.equal((await b.getToken({ scope: 'read' })).accessToken, 'token-2');
    assert.equal(as.tokenCalls, 2);

    // Other client ids or scopes do not share entries.
    await client({ clientId: 'svc-b', cache: store, now: () => now }).getToken({ scope: 'read' });
    await a.getToken({ scope: 'write' });
    assert.equal(as.tokenCalls, 4);
  });

  it('a token refused with invalid_token is not adopted again from the shared cache', async () => {
    // A store whose deletes never take effect (e.g. slow, or down): the refused token stays in it.
    class StickyStore extends MemoryTokenCache {
      override delete(): void {}
    }
    const store = new StickyStore();
    const a = client({ cache: store });
    await a.getToken();
    as.revoked.add('token-1');
    const response = await a.fetch(`${as.origin}/api`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { token: 'token-2' });
    assert.equal(as.tokenCalls, 2);
  });

  it('a failing store is reported and otherwise ignored', async () => {
    const errors: TokenErrorEvent[] = [];
    const broken = { get: () => Promise.reject(new Error('store down')), set: () => Promise.reject(new Error('store down')), delete: () => undefined };
    const c = client({ cache: broken, onError: (e) => errors.push(e) });
    assert.equal((await c.getToken()).accessToken, 'token-1');
    assert.deepEqual(errors.map((e) => e.phase), ['cache', 'cache']);
  });
});

describe('hooks', () => {
  it('onTokenRequest and onTokenResponse see every attempt; onError every failure; a throwing hook is ignored', async () => {
    const seen: string[] = [];
    const c = client({
      onTokenRequest: (e) => {
        seen.push(`request ${e.attempt} ${e.scope} ${e.endpoint.endsWith('/token')}`);
        throw new Error('hook bug');
      },
      onTokenResponse: (e) => seen.push(`response ${e.attempt} ${e.status} ${e.durationMs >= 0}`),
      onError: (e) => seen.push(`error ${e.phase} ${(e.error as Error).name}`),
    });
    as.script.push({ status: 503 });
    assert.equal((await c.getToken({ scope: 'b a' })).accessToken, 'token-2');
    as.script.push({ status: 400, body: { error: 'invalid_scope' } });
    await assert.rejects(c.getToken({ scope: 'admin' }));
    assert.deepEqual(seen, [
      'request 1 a b true',
      'response 1 503 true',
      'request 2 a b true',
      'response 2 200 true',
      'request 1 admin true',
      'response 1 400 true',
      'error token TokenError',
    ]);
  });

  it('hook events never carry the client secret or the access token', async () => {
    const events: unknown[] = [];
    const c = client({ onTokenRequest: (e) => events.push(e), onTokenResponse: (e) => events.push(e) });
    await c.getToken();
    const text = JSON.stringify(events);
    assert.equal(events.length, 2);
    assert.ok(!text.includes('secret') && !text.includes('token-1'), text);
  });
});
