/**
 * RFC 7591 client metadata (plus Tessera's own settings) ⇄ ClientRecord. Validates everything a
 * registration can get wrong, so that the token endpoint never meets an unusable client.
 */
import { AdminError } from '../errors/index.ts';
import type { ClientRecord, Jwk, JwkSet } from '../ports/index.ts';
import type { TokenEndpointAuthMethod } from '../../shared/oauth.ts';
import { parseScope } from '../../shared/oauth.ts';
import { hmacMinKeyBytes, importPublicJwk, isAsymmetricAlg, isHmacAlg, keyFitsAlg, ASYMMETRIC_ALGS } from '../crypto/jws.ts';
import type { KeyEncryptionKey } from '../crypto/kek.ts';
import { isAbsoluteUri, type ClientMetadataInput } from '../config/index.ts';
import { generateSecret, hashSecret } from './secrets.ts';

export const SUPPORTED_GRANT_TYPES = ['client_credentials'] as const;

/** Claims an extra_claims entry may never set: they are the token's own (RFC 9068 §2.2). */
const RESERVED_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'client_id', 'scope', 'cnf', 'act', 'may_act', 'auth_time', 'acr', 'amr']);

const CLIENT_ID = /^[\x21-\x7E]{1,255}$/;

function invalid(message: string): never {
  throw new AdminError('invalid_metadata', message);
}

function scopeList(value: string | string[] | undefined, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  const joined = Array.isArray(value) ? value.join(' ') : value;
  const parsed = parseScope(joined.trim().replace(/ +/g, ' '));
  if (!parsed) invalid(`${field}: not a valid scope list`);
  return parsed;
}

export function secretAad(realm: string, clientId: string): string {
  return `client-secret:${realm}:${clientId}`;
}

export interface BuildOptions {
  kek: KeyEncryptionKey;
  now: number;
  maxTtlSeconds: number;
  /** The realm's scope catalogue: when not empty, every scope of the client must be in it. */
  scopeCatalogue?: readonly string[];
  /** The stored client this input replaces; its secret is kept when the input names none. */
  existing?: ClientRecord;
}

export interface BuiltClient {
  record: ClientRecord;
  /** A secret Tessera generated: shown once to the operator, never stored in clear. */
  generatedSecret?: string;
}

/** Validates client metadata and produces the record to store. Throws AdminError('invalid_metadata'). */
export async function buildClientRecord(realm: string, input: ClientMetadataInput, opts: BuildOptions): Promise<BuiltClient> {
  if (!CLIENT_ID.test(input.client_id)) invalid('client_id: 1-255 visible ASCII characters');
  const hasKeys = input.jwks !== undefined || input.jwks_uri !== undefined;
  const method: TokenEndpointAuthMethod = input.token_endpoint_auth_method ?? (hasKeys ? 'private_key_jwt' : 'client_secret_basic');
  const secretMethod = method !== 'private_key_jwt';

  const alg = input.token_endpoint_auth_signing_alg;
  if (alg !== undefined) {
    if (method === 'private_key_jwt' && !isAsymmetricAlg(alg)) invalid(`token_endpoint_auth_signing_alg: ${alg} is not an asymmetric alg (${ASYMMETRIC_ALGS.join(', ')})`);
    if (method === 'client_secret_jwt' && !isHmacAlg(alg)) invalid(`token_endpoint_auth_signing_alg: ${alg} is not HS256, HS384 or HS512`);
    if (method === 'client_secret_basic' || method === 'client_secret_post') invalid('token_endpoint_auth_signing_alg: only for client_secret_jwt and private_key_jwt');
  }

  const record: ClientRecord = {
    realm,
    clientId: input.client_id,
    owners: input.owners ?? opts.existing?.owners ?? [],
    disabled: input.disabled ?? false,
    tokenEndpointAuthMethod: method,
    grantTypes: input.grant_types ?? ['client_credentials'],
    scopes: scopeList(input.scope, 'scope') ?? [],
    mayIntrospect: input.may_introspect ?? false,
    allowBasicWithAssertion: input.allow_basic_with_assertion ?? false,
    createdAt: opts.existing?.createdAt ?? opts.now,
    updatedAt: opts.now,
  };
  if (opts.scopeCatalogue?.length) {
    for (const s of record.scopes) if (!opts.scopeCatalogue.includes(s)) invalid(`scope: ${s} is not in the realm's scope catalogue (${opts.scopeCatalogue.join(' ')})`);
  }
  if (input.client_name !== undefined) record.clientName = input.client_name;
  if (alg !== undefined) record.tokenEndpointAuthSigningAlg = alg;
  for (const g of record.grantTypes) {
    if (!(SUPPORTED_GRANT_TYPES as readonly string[]).includes(g)) invalid(`grant_types: ${g} is not supported (only client_credentials)`);
  }

  let generatedSecret: string | undefined;
  if (record.allowBasicWithAssertion && method !== 'private_key_jwt') invalid('allow_basic_with_assertion: only for private_key_jwt clients');
  // A compatibility client (Basic header + assertion) holds a secret besides its keys.
  if (secretMethod || record.allowBasicWithAssertion) {
    let secret = input.client_secret;
    const existing = opts.existing;
    if (secret === undefined && existing?.secretHash !== undefined && existing.tokenEndpointAuthMethod === method) {
      record.secretHash = existing.secretHash;
      if (existing.secretEncrypted) record.secretEncrypted = existing.secretEncrypted;
    } else {
      if (secret === undefined) {
        secret = generateSecret(method === 'client_secret_jwt' ? 64 : 32);
        generatedSecret = secret;
      }
      await applySecret(record, secret, generatedSecret !== undefined, opts.kek);
    }
    if (method === 'client_secret_jwt' && input.client_secret !== undefined) {
      const need = hmacMinKeyBytes(isHmacAlg(alg) ? alg : 'HS256');
      if (Buffer.byteLength(input.client_secret, 'utf8') < need) invalid(`client_secret: at least ${need} bytes for client_secret_jwt with ${alg ?? 'HS256'}`);
    }
  } else if (input.client_secret !== undefined) {
    invalid('client_secret: not used by private_key_jwt');
  }
  if (secretMethod) {
    if (hasKeys) invalid(`jwks/jwks_uri: not used by ${method}`);
  } else {
    if ((input.jwks === undefined) === (input.jwks_uri === undefined)) invalid('private_key_jwt needs exactly one of jwks and jwks_uri');
    if (input.jwks !== undefined) record.jwks = validateJwks(input.jwks as JwkSet, alg);
    if (input.jwks_uri !== undefined) record.jwksUri = validateJwksUri(input.jwks_uri);
  }

  const defaults = scopeList(input.default_scopes, 'default_scopes');
  if (defaults) {
    for (const s of defaults) if (!record.scopes.includes(s)) invalid(`default_scopes: ${s} is not in scope`);
    record.defaultScopes = defaults;
  }
  if (input.access_token_ttl !== undefined) {
    if (input.access_token_ttl > opts.maxTtlSeconds) invalid(`access_token_ttl: at most ${opts.maxTtlSeconds}`);
    record.accessTokenTtl = input.access_token_ttl;
  }
  if (input.allowed_resources !== undefined) {
    for (const r of input.allowed_resources) if (!isAbsoluteUri(r)) invalid(`allowed_resources: ${r} is not an absolute URI without fragment`);
    record.allowedResources = [...new Set(input.allowed_resources)];
  }
  if (input.default_resource !== undefined) {
    if (!isAbsoluteUri(input.default_resource)) invalid('default_resource: not an absolute URI without fragment');
    record.defaultResource = input.default_resource;
  }
  if (input.extra_claims !== undefined) {
    for (const k of Object.keys(input.extra_claims)) if (RESERVED_CLAIMS.has(k)) invalid(`extra_claims: ${k} is a reserved claim`);
    record.extraClaims = structuredClone(input.extra_claims);
  }
  if (input.max_assertion_lifetime !== undefined) record.maxAssertionLifetime = input.max_assertion_lifetime;
  if (input.token_reuse !== undefined) record.tokenReuse = input.token_reuse;
  return generatedSecret === undefined ? { record } : { record, generatedSecret };
}

/** Replaces the secret of a secret-based client in place (hash, and encryption for client_secret_jwt). */
export async function applySecret(record: ClientRecord, secret: string, generated: boolean, kek: KeyEncryptionKey): Promise<void> {
  record.secretHash = await hashSecret(secret, generated);
  if (record.tokenEndpointAuthMethod === 'client_secret_jwt') {
    record.secretEncrypted = kek.encrypt(Buffer.from(secret, 'utf8'), secretAad(record.realm, record.clientId));
  } else {
    delete record.secretEncrypted;
  }
}

function validateJwks(jwks: JwkSet, alg: string | undefined): JwkSet {
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) invalid('jwks: needs at least one key');
  const kids = new Set<string>();
  const keys = jwks.keys.map((jwk: Jwk, i) => {
    const secret = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'].filter((m) => jwk && typeof jwk === 'object' && m in jwk);
    if (secret.length) invalid(`jwks.keys.${i}: contains private key material (${secret.join(', ')}); register only the public key`);
    try {
      const key = importPublicJwk(jwk);
      if (alg !== undefined && isAsymmetricAlg(alg) && !keyFitsAlg(key, alg)) invalid(`jwks.keys.${i}: does not fit ${alg}`);
      if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) invalid(`jwks.keys.${i}: RSA keys need at least 2048 bits`);
    } catch (err) {
      if (err instanceof AdminError) throw err;
      invalid(`jwks.keys.${i}: not a usable public key (${(err as Error).message})`);
    }
    if (jwk.kid !== undefined) {
      if (typeof jwk.kid !== 'string') invalid(`jwks.keys.${i}.kid: must be a string`);
      if (kids.has(jwk.kid)) invalid(`jwks.keys.${i}.kid: duplicate kid ${jwk.kid}`);
      kids.add(jwk.kid);
    }
    return structuredClone(jwk);
  });
  return { keys };
}

/** https, or http on a loopback host (development and tests). */
export function validateJwksUri(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    invalid('jwks_uri: not a URL');
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || url.hostname.startsWith('127.');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) invalid('jwks_uri: must be https (http only for loopback hosts)');
  if (url.hash) invalid('jwks_uri: must not have a fragment');
  return url.href;
}

/** The public view of a client, in RFC 7591 names: never the secret or its hash. */
export function toClientMetadata(c: ClientRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {
    client_id: c.clientId,
    client_name: c.clientName,
    realm: c.realm,
    owners: c.owners,
    disabled: c.disabled,
    token_endpoint_auth_method: c.tokenEndpointAuthMethod,
    token_endpoint_auth_signing_alg: c.tokenEndpointAuthSigningAlg,
    jwks: c.jwks,
    jwks_uri: c.jwksUri,
    grant_types: c.grantTypes,
    scope: c.scopes.join(' '),
    default_scopes: c.defaultScopes?.join(' '),
    access_token_ttl: c.accessTokenTtl,
    allowed_resources: c.allowedResources,
    default_resource: c.defaultResource,
    extra_claims: c.extraClaims,
    may_introspect: c.mayIntrospect,
    allow_basic_with_assertion: c.allowBasicWithAssertion,
    max_assertion_lifetime: c.maxAssertionLifetime,
    token_reuse: c.tokenReuse,
    created_at: Math.floor(c.createdAt / 1000),
    updated_at: Math.floor(c.updatedAt / 1000),
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}
