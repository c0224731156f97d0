/**
 * The shared benchmark fixture: the same clients (ids, secrets, public keys) registered at every
 * server under test, the private keys the load generator signs client assertions with, and the
 * ES256 key oidc-provider and the ceiling server sign access tokens with (Tessera makes its own).
 * Generated fresh per harness run and handed to the server processes as a JSON file.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { stringify as toYaml } from 'yaml';

export type AssertionAlg = 'ES256' | 'RS256' | 'PS256' | 'EdDSA';
export type Jwk = Record<string, unknown> & { kty: string; kid?: string };

export const API = 'https://api.bench.test/';
/** oidc-provider only introspects opaque tokens; its introspection scenario uses this resource. */
export const OPAQUE_API = 'https://opaque.bench.test/';
export const SCOPE = 'bench';
export const TOKEN_TTL = 3600;
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface SecretClient {
  client_id: string;
  secret: string;
  method: 'client_secret_basic' | 'client_secret_post' | 'client_secret_jwt';
  alg?: 'HS256';
}

export interface KeyClient {
  client_id: string;
  method: 'private_key_jwt';
  alg: AssertionAlg;
  kid: string;
  privateJwk: Jwk;
  publicJwk: Jwk;
}

export interface Fixture {
  api: string;
  opaqueApi: string;
  scope: string;
  ttl: number;
  basic: SecretClient;
  post: SecretClient;
  hs256: SecretClient;
  keyClients: Record<AssertionAlg, KeyClient>;
  /** ES256 signing key of oidc-provider and of the ceiling server (private JWK, with kid). */
  asKey: Jwk;
}

export const ASSERTION_ALGS: readonly AssertionAlg[] = ['ES256', 'RS256', 'PS256', 'EdDSA'];

function keyPair(alg: AssertionAlg): { privateKey: KeyObject; publicKey: KeyObject } {
  if (alg === 'EdDSA') return generateKeyPairSync('ed25519');
  if (alg === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

export function createFixture(): Fixture {
  const secret = (bytes: number) => randomBytes(bytes).toString('base64url');
  const keyClients = {} as Record<AssertionAlg, KeyClient>;
  for (const alg of ASSERTION_ALGS) {
    const { privateKey, publicKey } = keyPair(alg);
    const kid = `bench-${alg.toLowerCase()}-${randomBytes(4).toString('hex')}`;
    keyClients[alg] = {
      client_id: `bench-${alg.toLowerCase()}`,
      method: 'private_key_jwt',
      alg,
      kid,
      privateJwk: { ...(privateKey.export({ format: 'jwk' }) as Jwk), kid },
      publicJwk: { ...(publicKey.export({ format: 'jwk' }) as Jwk), kid, use: 'sig' },
    };
  }
  const as = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    api: API,
    opaqueApi: OPAQUE_API,
    scope: SCOPE,
    ttl: TOKEN_TTL,
    basic: { client_id: 'bench-basic', secret: secret(32), method: 'client_secret_basic' },
    post: { client_id: 'bench-post', secret: secret(32), method: 'client_secret_post' },
    // 64 random bytes → 86 characters, comfortably above HS256's 32-byte minimum.
    hs256: { client_id: 'bench-hs256', secret: secret(64), method: 'client_secret_jwt', alg: 'HS256' },
    keyClients,
    asKey: { ...(as.privateKey.export({ format: 'jwk' }) as Jwk), kid: `bench-as-${randomBytes(4).toString('hex')}`, alg: 'ES256', use: 'sig' },
  };
}

/** Tessera's configuration file (YAML) for this fixture. */
export function tesseraConfigYaml(f: Fixture, opts: { issuer: string; port: number; storageUrl: string; basicClient?: Record<string, unknown> | undefined; extra?: Record<string, unknown> | undefined }): string {
  const secretClient = (c: SecretClient, extra: Record<string, unknown> = {}) => ({
    client_id: c.client_id,
    client_secret: c.secret,
    token_endpoint_auth_method: c.method,
    ...(c.alg ? { token_endpoint_auth_signing_alg: c.alg } : {}),
    scope: f.scope,
    ...extra,
  });
  const config = {
    ...opts.extra,
    issuer: opts.issuer,
    listen: { host: '127.0.0.1', port: opts.port },
    storage: { url: opts.storageUrl },
    log: { level: 'warn' },
    demo_client: false,
    assertions: { audience: 'either' },
    tokens: { signing_alg: 'ES256', ttl: f.ttl, default_audience: f.api },
    clients: [
      secretClient(f.basic, { may_introspect: true, ...opts.basicClient }),
      secretClient(f.post),
      secretClient(f.hs256),
      ...ASSERTION_ALGS.map((alg) => {
        const c = f.keyClients[alg];
        return {
          client_id: c.client_id,
          token_endpoint_auth_method: c.method,
          token_endpoint_auth_signing_alg: c.alg,
          jwks: { keys: [c.publicJwk] },
          scope: f.scope,
        };
      }),
    ],
  };
  return toYaml(config);
}
