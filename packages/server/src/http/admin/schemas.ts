/**
 * The admin API's schemas (zod): each request part and response body is validated by these, and the
 * OpenAPI document is generated from the same objects (openapi.ts), so the two cannot drift.
 */
import { z } from 'zod';
import { clientMetadataSchema, runtimeRealmSchema } from '../../core/config/index.ts';

export const realmName = z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'lowercase letters, digits and inner hyphens, 1-63 characters');
export const clientId = z.string().min(1).max(255);
export const kid = z.string().min(1).max(255);

export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

export const realmParams = z.strictObject({ realm: realmName });
export const clientParams = z.strictObject({ realm: realmName, client_id: clientId });
export const keyParams = z.strictObject({ realm: realmName, kid });
export const noParams = z.strictObject({});
export const noQuery = z.strictObject({});

export const realmSchema = z.object({
  name: z.string(),
  issuer: z.string(),
  /** config: declared in the configuration file; runtime: created through the API. */
  source: z.enum(['config', 'runtime']),
  client_count: z.number().int(),
  /** This is the realm whose tokens the admin API accepts. */
  admin: z.boolean(),
});
export const realmListSchema = z.object({ realms: z.array(realmSchema) });
/** A runtime realm: the configuration file's realm schema without clients (the same validation as a declared realm). */
export const realmInputSchema = runtimeRealmSchema;

const scopeText = z.string();
/** A registered client as the API shows it (RFC 7591 names; never a secret or its hash). */
export const clientSchema = z.object({
  client_id: z.string(),
  client_name: z.string().optional(),
  realm: z.string(),
  owners: z.array(z.string()),
  disabled: z.boolean(),
  token_endpoint_auth_method: z.enum(['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt']),
  token_endpoint_auth_signing_alg: z.string().optional(),
  jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).optional(),
  jwks_uri: z.string().optional(),
  grant_types: z.array(z.string()),
  scope: scopeText,
  default_scopes: scopeText.optional(),
  access_token_ttl: z.number().int().optional(),
  allowed_resources: z.array(z.string()).optional(),
  default_resource: z.string().optional(),
  extra_claims: z.record(z.string(), z.unknown()).optional(),
  may_introspect: z.boolean(),
  allow_basic_with_assertion: z.boolean(),
  max_assertion_lifetime: z.number().int().optional(),
  token_reuse: z.boolean().optional(),
  created_at: z.number().int(),
  updated_at: z.number().int(),
});

export const clientCreateSchema = clientMetadataSchema;

/** JSON Merge Patch (RFC 7396) of a client: any metadata field but client_id and client_secret; null removes. */
const patchShape = Object.fromEntries(
  Object.entries(clientMetadataSchema.shape)
    .filter(([k]) => k !== 'client_id' && k !== 'client_secret')
    .map(([k, v]) => [k, (v as z.ZodOptional<z.ZodType>).unwrap().nullable().optional()]),
);
export const clientPatchSchema = z.strictObject(patchShape);

/** A client as the API shows it: metadata, version (the ETag), and how it relates to the config file. */
export const clientViewSchema = z.object({
  client: clientSchema,
  /** Changes on every write; sent as the ETag, expected back in If-Match. */
  version: z.string(),
  /** Declared in the configuration file. */
  declared: z.boolean(),
  /** Metadata names where the stored client differs from the configuration file. */
  drift: z.array(z.string()),
  /** Tokens issued before this instant (seconds) are inactive. */
  not_before: z.number().optional(),
  /** Until then the previous secret still authenticates (seconds). */
  previous_secret_expires_at: z.number().optional(),
});
export const clientCreatedSchema = clientViewSchema.extend({
  /** Present when Tessera generated a secret: shown once, stored only as a hash. */
  client_secret: z.string().optional(),
});
export const secretRotationSchema = clientViewSchema.extend({ client_secret: z.string() });
export const secretRotationBody = z.strictObject({
  /** Seconds the previous secret keeps working (default 86400; 0: it stops at once). */
  grace_seconds: z.number().int().min(0).max(30 * 86400).optional(),
  /** Also make every token issued so far inactive. */
  revoke_tokens: z.boolean().optional(),
});
export const disableBody = z.strictObject({ revoke_tokens: z.boolean().optional() });
/** A JWK, a JWK Set, or {"pem": "..."} holding a PEM public key or X.509 certificate. */
export const clientKeyUpload = z.union([
  z.strictObject({ pem: z.string().min(1).max(64 * 1024) }),
  z.strictObject({ keys: z.array(z.record(z.string(), z.unknown())).min(1).max(100) }),
  z.looseObject({ kty: z.string() }),
]);
export const parsedKeysSchema = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });
export const jwksCheckBody = z.strictObject({ uri: z.string().url().max(2048).optional() });
export const jwksCheckSchema = z.object({
  ok: z.boolean(),
  uri: z.string(),
  keys: z.array(z.object({ kid: z.string().optional(), kty: z.string(), alg: z.string().optional(), use: z.string().optional(), crv: z.string().optional(), usable: z.boolean(), problem: z.string().optional() })),
  error: z.string().optional(),
  reason: z.string().optional(),
  elapsed_ms: z.number(),
});
export const clientKeyParams = z.strictObject({ realm: realmName, client_id: clientId, kid });
export const tokenRevokeBody = z.strictObject({ jti: z.string().min(1).max(255), expires_at: z.number().int().positive().optional() });

const booleanText = z.enum(['true', 'false']).transform((v) => v === 'true');
export const clientListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** Opaque cursor from the previous page's next_cursor. */
  cursor: z.string().max(400).regex(/^[A-Za-z0-9_-]+$/).optional(),
  /** Case-insensitive text found in client_id or client_name. */
  q: z.string().min(1).max(255).regex(/^[^\x00-\x1f\x7f]+$/, 'no control characters').optional(),
  method: z.enum(['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt']).optional(),
  disabled: booleanText.optional(),
});
export const clientListSchema = z.object({ clients: z.array(clientViewSchema), next_cursor: z.string().optional() });

export const keySchema = z.object({
  kid: z.string(),
  alg: z.string(),
  state: z.enum(['next', 'active', 'retired', 'expired']),
  /** Seconds. */
  activates_at: z.number(),
  created_at: z.number().optional(),
});
export const keyListSchema = z.object({ keys: z.array(keySchema) });
export const publishedJwksSchema = z.object({
  jwks_uri: z.string(),
  /** The JWK Set as the realm publishes it (public keys only). */
  jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
  pre_publish_seconds: z.number().int(),
  /** Scheduled rotation (keys.rotate_every), null when off. */
  rotate_every_seconds: z.number().int().nullable(),
});
export const keyRotateSchema = z.strictObject({ immediate: z.boolean().optional() });
export const keyRevokeBody = z.strictObject({ promote_successor: z.boolean().optional() });
export const emptyBody = z.strictObject({});

/** A number in a query string: digits (and a fraction), nothing else (no empty string as 0). */
const num = z.string().regex(/^\d{1,12}(?:\.\d{1,3})?$/, 'a number of seconds').transform(Number);
const count = (max: number) => z.string().regex(/^\d{1,9}$/, 'a whole number').transform(Number).pipe(z.number().int().min(0).max(max));
const printable = z.string().regex(/^[^\x00-\x1f\x7f]+$/, 'no control characters');
export const auditQuery = z.strictObject({
  since: num.optional(),
  until: num.optional(),
  realm: realmName.optional(),
  client_id: clientId.pipe(printable).optional(),
  type: z.string().min(1).max(100).regex(/^[a-z_.*]+$/).optional(),
  after: count(Number.MAX_SAFE_INTEGER).optional(),
  limit: count(1000).pipe(z.number().min(1)).optional(),
});
export const auditEventSchema = z.object({
  seq: z.number().int(),
  at: z.number(),
  time: z.string(),
  type: z.string(),
  realm: z.string().nullable(),
  client_id: z.string().nullable(),
  actor: z.object({ id: z.string(), source: z.string().optional(), requestId: z.string().optional() }),
  data: z.record(z.string(), z.unknown()),
  prev_hash: z.string(),
  hash: z.string(),
});
export const auditPageSchema = z.object({ events: z.array(auditEventSchema), next_cursor: z.number().int().optional() });
export const auditVerifySchema = z.object({
  ok: z.boolean(),
  checked: z.number().int(),
  first_broken_seq: z.number().int().optional(),
  problem: z.string().optional(),
  anchor: z.object({ seq: z.number().int(), hash: z.string() }).optional(),
});
export const failureQuery = z.strictObject({ client_id: clientId.pipe(printable).optional(), since: num.optional(), until: num.optional(), limit: count(500).pipe(z.number().min(1)).optional() });
export const activityQuery = z.strictObject({ client_id: clientId.pipe(printable).optional(), minutes: count(60).pipe(z.number().min(1)).optional() });
export const activitySchema = z.object({
  realm: z.string(),
  client_id: z.string().nullable(),
  /** Start of the first bucket (seconds); buckets are step_seconds long, oldest first. */
  from: z.number().int(),
  step_seconds: z.number().int(),
  issued: z.array(z.number().int()),
  failures: z.array(z.number().int()),
});
export const failureSchema = z.object({
  realm: z.string(),
  client_id: z.string().nullable(),
  endpoint: z.enum(['token', 'introspect', 'revoke']),
  method: z.string().nullable(),
  source: z.string().nullable(),
  error: z.string(),
  reason: z.string(),
  facts: z.record(z.string(), z.unknown()),
  hint: z.string(),
  count: z.number().int(),
  first_seen: z.number(),
  last_seen: z.number(),
});
export const failureListSchema = z.object({ failures: z.array(failureSchema) });
