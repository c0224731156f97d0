/**
 * Shared helpers of the end-to-end interoperability tests: a loopback JWKS host for clients'
 * `jwks_uri`, asymmetric test keys as WebCrypto CryptoKeys (what openid-client, oauth4webapi and
 * jose want), a generic loopback listener, and the RFC 9068 checks every issued token must pass.
 */
import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, type CryptoKey, type JWK, type JWTPayload, type JWTHeaderParameters } from 'jose';

export type KeyAlg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

export interface ClientKeyPair {
  alg: KeyAlg;
  kid: string;
  privateKey: CryptoKey;
  /** Public JWK with kid, alg and use. */
  publicJwk: JWK;
}

/** A fresh asymmetric key pair for private_key_jwt (CryptoKeys, as openid-client/oauth4webapi need). */
export async function generateClientKey(alg: KeyAlg, kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`): Promise<ClientKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg.startsWith('RS') || alg.startsWith('PS') ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(publicKey);
  return { alg, kid, privateKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } };
}

export interface Listening {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 with an ephemeral port. */
export async function listen(handler: RequestListener): Promise<Listening> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

export interface JwksHost extends Listening {
  /** The JWK Set URL. */
  jwksUri: string;
  /** Replaces the served keys. */
  setKeys(keys: JWK[]): void;
  /** How many times the JWK Set was fetched. */
  fetches(): number;
}

/** A tiny node:http server publishing a client's public keys, as a client's `jwks_uri`. */
export async function startJwksHost(keys: JWK[]): Promise<JwksHost> {
  let served = keys;
  let count = 0;
  const l = await listen((req, res) => {
    if (req.method === 'GET' && req.url === '/client/jwks.json') {
      count++;
      res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'max-age=60' });
      res.end(JSON.stringify({ keys: served }));
      return;
    }
    res.writeHead(404).end();
  });
  return { ...l, jwksUri: `${l.url}/client/jwks.json`, setKeys: (k) => (served = k), fetches: () => count };
}

export interface ExpectedToken {
  issuer: string;
  clientId: string;
  audience: string | string[];
  scope: string;
  /** Access token lifetime the server is configured with (exp - iat). */
  ttl: number;
}

/** The exact claim set Tessera's RFC 9068 tokens carry (no extra_claims configured). */
export const RFC9068_CLAIMS = ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'scope', 'sub'];

/** Checks a verified payload/header against RFC 9068 §2.2 and the expected values, exactly. */
export function assertRfc9068(payload: JWTPayload, header: Pick<JWTHeaderParameters, 'typ' | 'kid'> | Record<string, unknown>, expected: ExpectedToken): void {
  assert.equal(header.typ, 'at+jwt');
  assert.equal(typeof header.kid, 'string');
  assert.deepEqual(Object.keys(payload).sort(), RFC9068_CLAIMS);
  assert.equal(payload.iss, expected.issuer);
  assert.equal(payload.sub, expected.clientId);
  assert.equal(payload.client_id, expected.clientId);
  assert.deepEqual(payload.aud, expected.audience);
  assert.equal(payload.scope, expected.scope);
  assert.ok(Number.isInteger(payload.iat), 'iat is an integer NumericDate');
  assert.equal(payload.exp, payload.iat! + expected.ttl);
  assert.equal(typeof payload.jti, 'string');
  assert.ok((payload.jti as string).length >= 16, 'jti has enough entropy');
}

/**
 * Verifies `token` with jose against the issuer's jwks_uri (a fresh remote set, so no cache from
 * an earlier call hides a key change) and checks the RFC 9068 claims.
 */
export async function verifyWithRemoteJwks(token: string, jwksUri: string, expected: ExpectedToken, algorithms?: string[]) {
  const jwks = createRemoteJWKSet(new URL(jwksUri));
  const audience = Array.isArray(expected.audience) ? expected.audience[0]! : expected.audience;
  const result = await jwtVerify(token, jwks, { issuer: expected.issuer, audience, typ: 'at+jwt', requiredClaims: ['iss', 'sub', 'client_id', 'aud', 'scope', 'iat', 'exp', 'jti'], ...(algorithms ? { algorithms } : {}) });
  assertRfc9068(result.payload, result.protectedHeader, expected);
  return result;
}

/** Fetches a JWK Set document (no caching) and returns it with the response. */
export async function fetchJwks(jwksUri: string): Promise<{ keys: JWK[] }> {
  const res = await fetch(jwksUri);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/jwk-set+json; charset=utf-8');
  return (await res.json()) as { keys: JWK[] };
}

/** Verifies against a JWK Set fetched right now (never a cached one). */
export async function verifyWithFreshJwks(token: string, jwksUri: string, expected: ExpectedToken) {
  const set = await fetchJwks(jwksUri);
  const audience = Array.isArray(expected.audience) ? expected.audience[0]! : expected.audience;
  const result = await jwtVerify(token, createLocalJWKSet(set), { issuer: expected.issuer, audience, typ: 'at+jwt' });
  assertRfc9068(result.payload, result.protectedHeader, expected);
  return result;
}

/** Splits a compact JWS without verifying it. */
export function decodeParts(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString('utf8')), payload: JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) };
}

/** A long client_secret usable with client_secret_jwt (≥ 64 bytes covers HS256..HS512). */
export function longSecret(label: string): string {
  return `${label}-${'s3cr3t-'.repeat(10)}${randomUUID()}`;
}

export interface OAuthFailure {
  status: number;
  error: string;
  error_description: string | undefined;
  /** The WWW-Authenticate header, when the server sent one. */
  challenge: string | null;
}

/**
 * The OAuth error behind an oauth4webapi / openid-client failure: a ResponseBodyError carries it
 * directly; a WWWAuthenticateChallengeError (any 401 with a challenge) leaves the body unread.
 */
export async function oauthFailure(err: unknown): Promise<OAuthFailure> {
  const e = err as { code?: string; status?: number; error?: string; error_description?: string; response?: Response; message?: string };
  if (e?.code === 'OAUTH_RESPONSE_BODY_ERROR') {
    return { status: e.status!, error: e.error!, error_description: e.error_description, challenge: e.response?.headers.get('www-authenticate') ?? null };
  }
  if (e?.code === 'OAUTH_WWW_AUTHENTICATE_CHALLENGE' && e.response) {
    const body = (await e.response.json()) as { error: string; error_description?: string };
    return { status: e.response.status, error: body.error, error_description: body.error_description, challenge: e.response.headers.get('www-authenticate') };
  }
  throw new assert.AssertionError({ message: `not an OAuth error response: ${String(e?.code)} ${String(e?.message)}` });
}

/** Awaits a rejection and returns the OAuth error it carries. */
export async function expectOAuthFailure(promise: Promise<unknown>): Promise<OAuthFailure> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  if (caught === undefined) throw new assert.AssertionError({ message: 'expected the request to fail with an OAuth error' });
  return oauthFailure(caught);
}

export const BASIC_CHALLENGE = 'Basic realm="tessera", charset="UTF-8"';
