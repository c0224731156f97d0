/**
 * The admin API's schemas (zod): each request part and response body is validated by these, and the
 * OpenAPI document is generated from the same objects (openapi.ts), so the two cannot drift.
 */
import { z } from 'zod';
import { clientMetadataSchema } from '../../core/config/index.ts';

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
  /** Declared in the configuration file (runtime realms are stored). */
  declared: z.boolean(),
  /** This is the realm whose tokens the admin API accepts. */
  admin: z.boolean(),
  token_endpoint: z.string(),
  jwks_uri: z.string(),
});
export const realmListSchema = z.object({ items: z.array(realmSchema) });

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

export const clientWriteSchema = z.object({
  client: clientSchema,
  /** Present when Tessera generated a secret: shown once, stored only as a hash. */
  client_secret: z.string().optional(),
});
export const secretRotationSchema = z.object({ client: clientSchema, client_secret: z.string() });

const booleanText = z.enum(['true', 'false']).transform((v) => v === 'true');
export const clientListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** Opaque cursor from the previous page's next_cursor. */
  cursor: z.string().max(400).regex(/^[A-Za-z0-9_-]+$/).optional(),
  /** Case-insensitive text found in client_id, client_name or an owner. */
  q: z.string().min(1).max(255).regex(/^[^\x00-\x1f\x7f]+$/, 'no control characters').optional(),
  method: z.enum(['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt']).optional(),
  disabled: booleanText.optional(),
});
export const clientListSchema = z.object({ items: z.array(clientSchema), next_cursor: z.string().optional() });

export const keySchema = z.object({
  kid: z.string(),
  alg: z.string(),
  state: z.enum(['next', 'active', 'retired', 'expired']),
  activates_at: z.string(),
});
export const keyListSchema = z.object({ keys: z.array(keySchema) });
export const keyRotateSchema = z.strictObject({ immediate: z.boolean().optional() });
export const keyRotatedSchema = z.object({ kid: z.string(), activates_at: z.string() });
export const emptyBody = z.strictObject({});
