/**
 * The ceiling: the least work that still answers a client-credentials request honestly, on bare
 * node:http. It parses the form body and the Basic header, compares the SHA-256 of the presented
 * secret with timingSafeEqual (or verifies the client assertion's signature with a cached
 * KeyObject, its iss/aud/exp and single-use jti), signs an ES256 JWT access token with node:crypto
 * and a cached KeyObject. No framework, no storage, no logging, no validation beyond that.
 * Also: introspection (Basic + signature + exp) and a pre-serialised JWKS.
 *
 * Usage: node --import tsx bench/servers/ceiling.ts <fixture.json>   (env BENCH_PORT)
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, randomBytes, sign, verify, timingSafeEqual, constants, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import type { Fixture } from '../lib/fixtures.ts';

const fixture = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Fixture;
const port = Number(process.env.BENCH_PORT);
const issuer = `http://127.0.0.1:${port}`;
const tokenEndpoint = `${issuer}/token`;

interface Client {
  id: string;
  secretHash?: Buffer;
  hmacKey?: Buffer;
  key?: KeyObject;
  alg?: string;
  mayIntrospect: boolean;
}
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const clients = new Map<string, Client>();
for (const c of [fixture.basic, fixture.post]) clients.set(c.client_id, { id: c.client_id, secretHash: sha256(c.secret), mayIntrospect: c === fixture.basic });
clients.set(fixture.hs256.client_id, { id: fixture.hs256.client_id, hmacKey: Buffer.from(fixture.hs256.secret, 'utf8'), alg: 'HS256', mayIntrospect: false });
for (const c of Object.values(fixture.keyClients)) {
  clients.set(c.client_id, { id: c.client_id, key: createPublicKey({ key: c.publicJwk as never, format: 'jwk' }), alg: c.alg, mayIntrospect: false });
}

const signingKey = createPrivateKey({ key: fixture.asKey as never, format: 'jwk' });
const verificationKey = createPublicKey(signingKey);
const { d: _d, ...publicAsKey } = fixture.asKey;
const jwksBody = JSON.stringify({ keys: [publicAsKey] });
const headerB64 = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: fixture.asKey.kid })).toString('base64url');
const seenJti = new Map<string, number>();
setInterval(() => {
  const now = Date.now() / 1000;
  for (const [jti, exp] of seenJti) if (exp < now) seenJti.delete(jti);
}, 10_000).unref();

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
const fail = (res: ServerResponse, status: number, error: string) => send(res, status, JSON.stringify({ error }));

function basicCredentials(header: string | undefined): [string, string] | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const text = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return undefined;
  return [decodeURIComponent(text.slice(0, i).replace(/\+/g, ' ')), decodeURIComponent(text.slice(i + 1).replace(/\+/g, ' '))];
}

function secretMatches(client: Client | undefined, secret: string): client is Client {
  if (!client?.secretHash) return false;
  return timingSafeEqual(client.secretHash, sha256(secret));
}

function verifySignature(client: Client, alg: string, input: string, sig: Buffer): boolean {
  const data = Buffer.from(input);
  switch (alg) {
    case 'HS256': {
      const mac = createHmac('sha256', client.hmacKey!).update(data).digest();
      return mac.length === sig.length && timingSafeEqual(mac, sig);
    }
    case 'ES256':
      return verify('sha256', data, { key: client.key!, dsaEncoding: 'ieee-p1363' }, sig);
    case 'RS256':
      return verify('sha256', data, client.key!, sig);
    case 'PS256':
      return verify('sha256', data, { key: client.key!, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig);
    case 'EdDSA':
      return verify(null, data, client.key!, sig);
    default:
      return false;
  }
}

/** The client an assertion authenticates, or undefined. */
function assertionClient(assertion: string): Client | undefined {
  const parts = assertion.split('.');
  if (parts.length !== 3) return undefined;
  const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as { alg?: string };
  const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { iss?: string; sub?: string; aud?: string; exp?: number; jti?: string };
  const client = clients.get(claims.iss ?? '');
  if (!client || claims.sub !== claims.iss || header.alg === undefined || header.alg !== client.alg) return undefined;
  if (!verifySignature(client, header.alg, `${parts[0]}.${parts[1]}`, Buffer.from(parts[2]!, 'base64url'))) return undefined;
  const now = Date.now() / 1000;
  if (typeof claims.exp !== 'number' || claims.exp < now || (claims.aud !== issuer && claims.aud !== tokenEndpoint)) return undefined;
  if (typeof claims.jti !== 'string' || seenJti.has(claims.jti)) return undefined;
  seenJti.set(claims.jti, claims.exp);
  return client;
}

function authenticate(req: IncomingMessage, form: URLSearchParams): Client | undefined {
  const basic = basicCredentials(req.headers.authorization);
  if (basic) {
    const client = clients.get(basic[0]);
    return secretMatches(client, basic[1]) ? client : undefined;
  }
  const assertion = form.get('client_assertion');
  if (assertion !== null) return assertionClient(assertion);
  const id = form.get('client_id');
  const secret = form.get('client_secret');
  if (id === null || secret === null) return undefined;
  const client = clients.get(id);
  return secretMatches(client, secret) ? client : undefined;
}

function token(req: IncomingMessage, res: ServerResponse, form: URLSearchParams): void {
  const client = authenticate(req, form);
  if (!client) return fail(res, 401, 'invalid_client');
  if (form.get('grant_type') !== 'client_credentials') return fail(res, 400, 'unsupported_grant_type');
  const scope = form.get('scope') ?? fixture.scope;
  if (scope !== fixture.scope) return fail(res, 400, 'invalid_scope');
  const iat = Math.floor(Date.now() / 1000);
  const claims = { iss: issuer, sub: client.id, client_id: client.id, aud: fixture.api, scope, iat, exp: iat + fixture.ttl, jti: randomBytes(16).toString('base64url') };
  const input = `${headerB64}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const sig = sign('sha256', Buffer.from(input), { key: signingKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  send(res, 200, JSON.stringify({ access_token: `${input}.${sig}`, token_type: 'Bearer', expires_in: fixture.ttl, scope }));
}

function introspect(req: IncomingMessage, res: ServerResponse, form: URLSearchParams): void {
  const basic = basicCredentials(req.headers.authorization);
  const caller = basic && clients.get(basic[0]);
  if (!basic || !secretMatches(caller, basic[1])) return fail(res, 401, 'invalid_client');
  if (!caller.mayIntrospect) return fail(res, 400, 'unauthorized_client');
  const parts = (form.get('token') ?? '').split('.');
  const inactive = () => send(res, 200, '{"active":false}');
  if (parts.length !== 3) return inactive();
  if (!verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key: verificationKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2]!, 'base64url'))) return inactive();
  const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  if (typeof claims.exp !== 'number' || claims.exp <= Date.now() / 1000) return inactive();
  send(res, 200, JSON.stringify({ active: true, token_type: 'Bearer', ...claims }));
}

const server = createServer((req, res) => {
  const path = req.url ?? '';
  if (req.method === 'GET' && path === '/jwks') return send(res, 200, jwksBody, 'application/jwk-set+json');
  if (req.method !== 'POST' || (path !== '/token' && path !== '/introspect')) return fail(res, 404, 'not_found');
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    try {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (path === '/token') token(req, res, form);
      else introspect(req, res, form);
    } catch {
      fail(res, 400, 'invalid_request');
    }
  });
});
server.keepAliveTimeout = 75_000;
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)).closeAllConnections());
