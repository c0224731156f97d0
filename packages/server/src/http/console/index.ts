/**
 * The web console under /console: static assets (precompressed, strict CSP, no inline script),
 * sign-in by a one-time link (`tessera console login`), sessions in the shared storage so that every
 * instance of a cluster knows them (HttpOnly, SameSite=Strict cookie; only the id's hash is stored;
 * idle and absolute timeouts; sign-out ends a session everywhere), CSRF token on every change, and a
 * backend-for-frontend under /console/api/admin/* that forwards to the admin API (/admin/v1) with a
 * short-lived admin token minted for the session. No admin token ever reaches the browser.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthorizationServer } from '../../core/server.ts';
import { AuthorizationServer as Server } from '../../core/server.ts';
import { mintAccessToken, verifyOwnAccessToken } from '../../core/tokens/access-token.ts';
import { adminAudience, ALL_ADMIN_SCOPES } from '../admin/auth.ts';
import { ConsoleSso, SSO_TX_TTL_MS, SsoRefused } from './sso.ts';

export const CONSOLE_PREFIX = '/console';
/** The replay-store name under which SSO sign-in attempts are used once (not a client). */
const SSO_TX_CLIENT_ID = 'tessera-console-sso';
/** The admin-realm client the console's admin tokens are issued to (created on first sign-in). */
export const CONSOLE_CLIENT_ID = 'tessera-console';
/** The client id named in one-time sign-in links (no such client is registered). */
export const LOGIN_LINK_CLIENT_ID = 'tessera-console-login';
export const COOKIE = 'tessera_console';
/** The SSO transaction id, only on /console/sso (SameSite=Lax: the provider's redirect back is cross-site). */
export const SSO_COOKIE = 'tessera_console_sso';
export const CSRF_HEADER = 'x-csrf-token';
export const LOGIN_LINK_TTL_SECONDS = 300;

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export interface ConsoleOptions {
  server: AuthorizationServer;
  /** Directory of the built front end (index.html, app.js, app.css and their .gz/.br). */
  assetsDir?: string;
  idleTimeoutSeconds?: number;
  absoluteTimeoutSeconds?: number;
}

/** A live session as a request sees it (the stored record holds neither the id nor the CSRF token). */
interface Session {
  idHash: string;
  csrf: string;
  subject: string;
  scope: string;
}

/** What the store keeps for a session id: its SHA-256 (the id is a bearer credential). */
export function sessionIdHash(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/**
 * The session's CSRF token, derived from the session id (HMAC keyed by the id): the same on every
 * instance, never stored, and not computable from the stored hash.
 */
export function sessionCsrf(id: string): string {
  return createHmac('sha256', Buffer.from(id, 'base64url')).update('tessera console csrf').digest('base64url');
}

export function consoleAudience(issuer: string): string {
  return `${issuer}${CONSOLE_PREFIX}`;
}

export function defaultAssetsDir(): string {
  return join(new URL('.', import.meta.url).pathname, '..', '..', '..', 'console-ui', 'dist');
}

/** A one-time sign-in link (single use across a cluster through the replay store; 5 minutes). */
export async function createLoginLink(server: AuthorizationServer, opts: { subject: string; scope?: string; baseUrl?: string }): Promise<{ url: string; expiresAt: number }> {
  const realm = server.realm(server.config.admin.realm)!;
  const now = Math.floor(server.clock.now() / 1000);
  const scope = opts.scope ?? 'tessera:admin';
  for (const s of scope.split(' ')) if (!ALL_ADMIN_SCOPES.includes(s) && !s.startsWith('tessera:realm:')) throw new TypeError(`unknown admin scope: ${s}`);
  const minted = await mintAccessToken(server.keys, realm.name, {
    issuer: realm.issuer,
    clientId: LOGIN_LINK_CLIENT_ID,
    audience: consoleAudience(server.config.issuer),
    scope,
    ttlSeconds: LOGIN_LINK_TTL_SECONDS,
    now,
    extraClaims: { console_user: opts.subject },
  });
  const base = (opts.baseUrl ?? server.config.issuer).replace(/\/$/, '');
  return { url: `${base}${CONSOLE_PREFIX}/login#${minted.token}`, expiresAt: (now + LOGIN_LINK_TTL_SECONDS) * 1000 };
}

const CONTENT_TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', html: 'text/html; charset=utf-8', svg: 'image/svg+xml' };

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const problem = (reply: FastifyReply, status: number, title: string, detail: string) =>
  reply.code(status).header('cache-control', 'no-store').type('application/problem+json').send({ type: 'about:blank', title, status, detail });

export async function consolePlugin(app: FastifyInstance, opts: ConsoleOptions): Promise<void> {
  const { server } = opts;
  const dir = opts.assetsDir ?? defaultAssetsDir();
  const idleMs = (opts.idleTimeoutSeconds ?? server.config.console.idleTimeoutSeconds) * 1000;
  const absoluteMs = (opts.absoluteTimeoutSeconds ?? server.config.console.absoluteTimeoutSeconds) * 1000;
  const ssoConfig = server.config.console.sso;
  if (ssoConfig) for (const sc of ssoConfig.adminScope.split(' ')) if (!ALL_ADMIN_SCOPES.includes(sc) && !sc.startsWith('tessera:realm:')) throw new TypeError(`config console.sso.admin_scope: unknown admin scope ${sc}`);
  const sso = ssoConfig
    ? new ConsoleSso(ssoConfig, () => server.clock.now(), {
        seal: (purpose, value) => server.seal(purpose, value),
        unseal: (purpose, sealed) => server.unseal(purpose, sealed),
        useOnce: (id, expiresAt) => server.storage.replay.consume(server.config.admin.realm, SSO_TX_CLIENT_ID, id, expiresAt + 60_000),
      })
    : undefined;
  const secure = server.config.issuer.startsWith('https:');
  const sessions = server.storage.consoleSessions;
  /** Admin tokens minted by this instance, per session (by id hash); a cache only, dropped at sign-out. */
  const adminTokens = new Map<string, { value: string; exp: number }>();
  const adminRealm = server.config.admin.realm;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/merge-patch+json'], { parseAs: 'string' }, (_req, body, done) => {
    if ((body as string).trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(Object.assign(new Error('the body is not valid JSON'), { statusCode: 400 }));
    }
  });
  app.setErrorHandler((error, request, reply) => {
    const status = typeof (error as { statusCode?: number }).statusCode === 'number' && (error as { statusCode: number }).statusCode < 500 ? (error as { statusCode: number }).statusCode : 500;
    if (status >= 500) request.log.error({ reqId: request.id, err: error }, 'console error');
    return problem(reply, status, status >= 500 ? 'Internal Server Error' : 'Bad Request', status >= 500 ? 'unexpected error' : (error as Error).message);
  });

  // Assets are read once; a missing build answers 503 with a hint rather than failing the server.
  const assets = new Map<string, { type: string; plain: Buffer; gz?: Buffer; br?: Buffer }>();
  const load = (name: string) => {
    if (assets.has(name)) return assets.get(name);
    const file = join(dir, name);
    if (!/^[a-z0-9.-]+$/.test(name) || !existsSync(file)) return undefined;
    const ext = name.split('.').pop()!;
    const a = {
      type: CONTENT_TYPES[ext] ?? 'application/octet-stream',
      plain: readFileSync(file),
      ...(existsSync(file + '.gz') ? { gz: readFileSync(file + '.gz') } : {}),
      ...(existsSync(file + '.br') ? { br: readFileSync(file + '.br') } : {}),
    };
    assets.set(name, a);
    return a;
  };
  const sendAsset = (request: FastifyRequest, reply: FastifyReply, name: string, cache: string) => {
    const a = load(name);
    if (!a) return problem(reply, name === 'index.html' ? 503 : 404, 'Not Found', name === 'index.html' ? 'the console is not built (npm run build)' : 'no such asset');
    const accept = String(request.headers['accept-encoding'] ?? '');
    reply.header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('x-frame-options', 'DENY').header('cache-control', cache).header('vary', 'accept-encoding').type(a.type);
    if (a.br && /\bbr\b/.test(accept)) return reply.header('content-encoding', 'br').send(a.br);
    if (a.gz && /\bgzip\b/.test(accept)) return reply.header('content-encoding', 'gzip').send(a.gz);
    return reply.send(a.plain);
  };

  /** The request's session, if its cookie names a live one (refreshing its idle timeout on every instance). */
  const sessionOf = async (request: FastifyRequest): Promise<Session | undefined> => {
    const id = parseCookies(request.headers.cookie).get(COOKIE);
    if (!id || !/^[\w-]{43}$/.test(id)) return undefined;
    const idHash = sessionIdHash(id);
    const stored = await sessions.touch(idHash, server.clock.now(), idleMs);
    if (!stored) {
      adminTokens.delete(idHash);
      return undefined;
    }
    return { idHash, csrf: sessionCsrf(id), subject: stored.subject, scope: stored.scope };
  };
  const cookie = (value: string, maxAge: number) => `${COOKIE}=${value}; Path=${CONSOLE_PREFIX}; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;

  async function ensureConsoleClient(): Promise<void> {
    if (await server.clients.get(adminRealm, CONSOLE_CLIENT_ID)) return;
    const aud = adminAudience(server.config.issuer);
    try {
      await server.createClient(
        adminRealm,
        Server.parseClientMetadata({
          client_id: CONSOLE_CLIENT_ID,
          client_name: 'Tessera console (tokens minted in-process for signed-in people)',
          token_endpoint_auth_method: 'client_secret_basic',
          scope: ALL_ADMIN_SCOPES.join(' '),
          allowed_resources: [aud],
          default_resource: aud,
        }),
      );
    } catch (err) {
      // Another instance created it first.
      if (!(await server.clients.get(adminRealm, CONSOLE_CLIENT_ID))) throw err;
    }
  }

  async function adminTokenFor(s: Session): Promise<string> {
    const now = Math.floor(server.clock.now() / 1000);
    const cached = adminTokens.get(s.idHash);
    if (cached && cached.exp - 30 > now) return cached.value;
    const realm = server.realm(adminRealm)!;
    const minted = await mintAccessToken(server.keys, adminRealm, {
      issuer: realm.issuer,
      clientId: CONSOLE_CLIENT_ID,
      audience: adminAudience(server.config.issuer),
      scope: s.scope,
      ttlSeconds: 300,
      now,
      extraClaims: { console_user: s.subject },
    });
    for (const [key, t] of adminTokens) if (t.exp - 30 <= now) adminTokens.delete(key);
    adminTokens.set(s.idHash, { value: minted.token, exp: minted.claims.exp });
    return minted.token;
  }

  /** A new session (fresh id: no fixation), its cookie, and a sign-in event in the audit trail. */
  async function openSession(request: FastifyRequest, reply: FastifyReply, subject: string, scope: string, via: 'link' | 'sso', extra: Record<string, unknown> = {}): Promise<Session> {
    await ensureConsoleClient();
    const now = server.clock.now();
    const id = randomBytes(32).toString('base64url');
    const s: Session = { idHash: sessionIdHash(id), csrf: sessionCsrf(id), subject, scope };
    await sessions.create({ idHash: s.idHash, subject, scope, createdAt: now, lastSeen: now, expiresAt: now + absoluteMs });
    reply.header('set-cookie', cookie(id, Math.floor(absoluteMs / 1000)));
    await server.admin
      .recordEvent({ id: `${CONSOLE_CLIENT_ID}:${subject.slice(0, 200)}`, source: request.ip, requestId: request.id }, 'console.sign_in', null, null, { via, scope, ...extra })
      .catch((err: unknown) => request.log.warn({ reqId: request.id, err: String(err) }, 'audit write failed'));
    return s;
  }
  const sessionBody = (s: Session) => ({ subject: s.subject, scope: s.scope, csrf: s.csrf, admin_realm: adminRealm, issuer: server.config.issuer });

  const page = async (request: FastifyRequest, reply: FastifyReply) => sendAsset(request, reply, 'index.html', 'no-store');
  app.get('/', page);
  app.get('/*', async (request, reply) => {
    const rest = (request.params as { '*': string })['*'];
    if (rest.startsWith('assets/')) return sendAsset(request, reply, rest.slice('assets/'.length), 'no-cache');
    if (rest.startsWith('api/') || rest.startsWith('sso/')) return problem(reply, 404, 'Not Found', 'no such console endpoint');
    return page(request, reply);
  });

  // One-time link: the token travels in the URL fragment (never logged by proxies), the page posts it here.
  app.post('/api/session', async (request, reply) => {
    const body = request.body as { token?: unknown } | undefined;
    const token = typeof body?.token === 'string' ? body.token : '';
    const realm = server.realm(adminRealm)!;
    const claims = token ? await verifyOwnAccessToken(server.keys, adminRealm, realm.issuer, token) : undefined;
    const now = server.clock.now();
    const aud = claims ? (Array.isArray(claims.aud) ? claims.aud : [claims.aud]) : [];
    const valid = claims && claims.client_id === LOGIN_LINK_CLIENT_ID && aud.includes(consoleAudience(server.config.issuer)) && claims.exp * 1000 > now && typeof claims['console_user'] === 'string';
    if (!valid || !(await server.storage.replay.consume(adminRealm, LOGIN_LINK_CLIENT_ID, claims.jti, claims.exp * 1000 + 60_000))) {
      return problem(reply, 401, 'Unauthorized', 'this sign-in link is not valid, has expired or was used already; run `tessera console login` for a new one');
    }
    const s = await openSession(request, reply, claims['console_user'] as string, claims.scope, 'link');
    return reply.code(201).header('cache-control', 'no-store').send(sessionBody(s));
  });

  /** How one may sign in here (shown on the sign-in page). */
  app.get('/api/sign-in', async (_request, reply) => reply.header('cache-control', 'no-store').send({ link: true, sso: sso !== undefined }));

  // Single sign-on: /sso/start redirects to the provider; it redirects back to /sso/callback.
  const ssoCookie = (value: string, maxAge: number) => `${SSO_COOKIE}=${value}; Path=${CONSOLE_PREFIX}/sso; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
  app.get('/sso/start', async (request, reply) => {
    if (!sso) return problem(reply, 404, 'Not Found', 'single sign-on is not configured (console.sso)');
    let started: { id: string; url: string };
    try {
      started = await sso.start();
    } catch (err) {
      request.log.warn({ reqId: request.id, err: String(err) }, 'console SSO: the provider could not be reached');
      return reply.code(303).header('cache-control', 'no-store').redirect(`${CONSOLE_PREFIX}/?sso_error=unavailable`, 303);
    }
    return reply.header('cache-control', 'no-store').header('set-cookie', ssoCookie(started.id, Math.floor(SSO_TX_TTL_MS / 1000))).redirect(started.url, 303);
  });
  app.get('/sso/callback', async (request, reply) => {
    if (!sso) return problem(reply, 404, 'Not Found', 'single sign-on is not configured (console.sso)');
    reply.header('cache-control', 'no-store');
    const txId = parseCookies(request.headers.cookie).get(SSO_COOKIE);
    const search = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    try {
      const who = await sso.finish(txId, search);
      await openSession(request, reply, who.display, ssoConfig!.adminScope, 'sso', { sub: who.subject.slice(0, 255), issuer: ssoConfig!.issuer });
      reply.header('set-cookie', ssoCookie('', 0));
      return reply.redirect(`${CONSOLE_PREFIX}/`, 303);
    } catch (err) {
      const refused = err instanceof SsoRefused ? err : new SsoRefused('failed', 'unexpected error');
      if (!(err instanceof SsoRefused)) request.log.error({ reqId: request.id, err }, 'console SSO error');
      request.log.warn({ reqId: request.id, reason: refused.reason, subject: refused.subject, detail: refused.message }, 'console SSO sign-in refused');
      if (refused.reason === 'not_allowed') {
        await server.admin
          .recordEvent({ id: `${CONSOLE_CLIENT_ID}:${(refused.subject ?? '?').slice(0, 200)}`, source: request.ip, requestId: request.id }, 'console.sign_in_refused', null, null, { via: 'sso' })
          .catch(() => undefined);
      }
      reply.header('set-cookie', ssoCookie('', 0));
      return reply.redirect(`${CONSOLE_PREFIX}/?sso_error=${refused.reason}`, 303);
    }
  });

  app.get('/api/session', async (request, reply) => {
    const s = await sessionOf(request);
    if (!s) return problem(reply, 401, 'Unauthorized', 'not signed in');
    return reply.header('cache-control', 'no-store').send(sessionBody(s));
  });

  const checkCsrf = (request: FastifyRequest, s: Session) => {
    const got = request.headers[CSRF_HEADER];
    return typeof got === 'string' && sameSecret(got, s.csrf);
  };

  app.delete('/api/session', async (request, reply) => {
    const s = await sessionOf(request);
    if (s && !checkCsrf(request, s)) return problem(reply, 403, 'Forbidden', 'missing or wrong CSRF token');
    if (s) {
      // Deleted from the shared store: refused on every instance from now on.
      await sessions.delete(s.idHash);
      adminTokens.delete(s.idHash);
    }
    return reply.code(204).header('set-cookie', cookie('', 0)).send();
  });

  // The backend-for-frontend: /console/api/admin/<path> → /admin/v1/<path>, as the signed-in person.
  app.route({
    method: ['GET', 'POST', 'PATCH', 'DELETE'],
    url: '/api/admin/*',
    handler: async (request, reply) => {
      const s = await sessionOf(request);
      if (!s) return problem(reply, 401, 'Unauthorized', 'not signed in');
      if (request.method !== 'GET' && !checkCsrf(request, s)) return problem(reply, 403, 'Forbidden', 'missing or wrong CSRF token');
      const rest = (request.params as { '*': string })['*'];
      const qs = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      const headers: Record<string, string> = { authorization: `Bearer ${await adminTokenFor(s)}` };
      const ct = request.headers['content-type'];
      if (ct) headers['content-type'] = ct;
      const ifMatch = request.headers['if-match'];
      if (typeof ifMatch === 'string') headers['if-match'] = ifMatch;
      const res = await app.inject({
        method: request.method as 'GET',
        url: `/admin/v1/${rest}${qs}`,
        headers,
        ...(request.body !== undefined && request.method !== 'GET' ? { payload: JSON.stringify(request.body) } : {}),
      });
      reply.code(res.statusCode).header('cache-control', 'no-store');
      for (const h of ['content-type', 'etag', 'location']) if (res.headers[h] !== undefined) reply.header(h, String(res.headers[h]));
      return reply.send(res.rawPayload);
    },
  });
}
