/**
 * The configuration file format (YAML or JSON), validated with zod. Keys are snake_case; clients use
 * RFC 7591 client-metadata names plus Tessera's own per-client settings. Every object is strict:
 * an unknown key is an error naming its path, so a typo never silently changes behaviour.
 * Defaults live in defaults.ts; resolve.ts turns a parsed file into the frozen ResolvedConfig.
 */
import { z } from 'zod';
import { PROFILES } from './profiles.ts';

const seconds = z.number().int().positive();
const stringList = z.union([z.string(), z.array(z.string())]);

export const clientMetadataSchema = z.strictObject({
  client_id: z.string().min(1).max(255),
  client_name: z.string().max(255).optional(),
  client_secret: z.string().min(1).optional(),
  token_endpoint_auth_method: z.enum(['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt']).optional(),
  token_endpoint_auth_signing_alg: z.string().optional(),
  jwks: z.strictObject({ keys: z.array(z.record(z.string(), z.unknown())) }).optional(),
  jwks_uri: z.string().optional(),
  grant_types: z.array(z.string()).optional(),
  scope: stringList.optional(),
  // Tessera's own per-client settings
  owners: z.array(z.string()).optional(),
  disabled: z.boolean().optional(),
  default_scopes: stringList.optional(),
  access_token_ttl: seconds.optional(),
  allowed_resources: z.array(z.string()).optional(),
  default_resource: z.string().optional(),
  extra_claims: z.record(z.string(), z.unknown()).optional(),
  may_introspect: z.boolean().optional(),
  allow_basic_with_assertion: z.boolean().optional(),
  max_assertion_lifetime: seconds.optional(),
  token_reuse: z.boolean().optional(),
});
export type ClientMetadataInput = z.infer<typeof clientMetadataSchema>;

const assertionSchema = z.strictObject({
  /** Which `aud` values a client assertion may carry (RFC 7523 §3 item 3). */
  audience: z.enum(['issuer', 'token_endpoint', 'either']).optional(),
  /** Accept `aud` as an array containing an accepted value (Oracle); off by default. */
  allow_array_audience: z.boolean().optional(),
  /** Opt-in cap on exp - iat (the use window max_age applies by default). */
  max_lifetime: seconds.optional(),
  /** Use window: an assertion is accepted only within max_age seconds of its iat (or of now, without iat). */
  max_age: seconds.optional(),
  /** Require a jti; when false a jti-less assertion is single-use by the SHA-256 of the whole assertion. */
  require_jti: z.boolean().optional(),
  /** JWS algs accepted for client assertions in this realm (all supported ones when absent). */
  signing_algs: z.array(z.string()).min(1).optional(),
  clock_skew: z.number().int().min(0).max(300).optional(),
  /** Require header typ "client-authentication+jwt" (draft-ietf-oauth-rfc7523bis). */
  require_typ: z.boolean().optional(),
});

const tokenSchema = z.strictObject({
  signing_alg: z.enum(['ES256', 'RS256', 'PS256', 'EdDSA']).optional(),
  ttl: seconds.optional(),
  max_ttl: seconds.optional(),
  default_audience: z.string().optional(),
  /** Token reuse (opt-in): hand back a live token instead of signing a new one. */
  reuse: z.strictObject({ enabled: z.boolean().optional(), min_remaining_fraction: z.number().gt(0).lt(1).optional() }).optional(),
});

const keySchema = z.strictObject({
  /** Seconds a rotated-in key is published before it signs anything. */
  pre_publish: z.number().int().min(0).optional(),
  /** Scheduled rotation, once per cluster: a duration such as `90d`, `12h` (s, m, h, d) or seconds; off unless set. */
  rotate_every: z.union([z.number().int().positive(), z.string().regex(/^[1-9]\d*[smhd]$/, 'a duration such as 90d, 12h, 30m or 3600s')]).optional(),
});

const profileSchema = z.enum(PROFILES);
/** The realm's scope catalogue, published (with the clients' scopes) as scopes_supported. */
const scopesSchema = z.array(z.strictObject({ name: z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'a scope token (RFC 6749 section 3.3)'), description: z.string().max(500).optional() }));

const realmSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'lowercase letters, digits and inner hyphens, 1-63 characters'),
  profile: profileSchema.optional(),
  scopes: scopesSchema.optional(),
  assertions: assertionSchema.optional(),
  tokens: tokenSchema.optional(),
  keys: keySchema.optional(),
  clients: z.array(clientMetadataSchema).optional(),
});

/** A runtime realm (admin API): the realm-level settings of the file, without clients (those are registered through the API). */
export const runtimeRealmSchema = realmSchema.omit({ clients: true });
export type RuntimeRealmInput = z.infer<typeof runtimeRealmSchema>;

export const configFileSchema = z.strictObject({
  issuer: z.string().optional(),
  listen: z.strictObject({ host: z.string().optional(), port: z.number().int().min(0).max(65535).optional() }).optional(),
  storage: z.strictObject({
    url: z.string().optional(),
    redis: z.string().optional(),
    /** Seconds to keep retrying an unreachable database at start-up before exiting (0: fail at once). */
    wait_at_start: z.number().int().min(0).max(3600).optional(),
  }).optional(),
  kek: z.strictObject({ file: z.string().optional() }).optional(),
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional() }).optional(),
  http: z.strictObject({
    body_limit: z.number().int().min(1024).max(1048576).optional(),
    /**
     * Which X-Forwarded-For entries to believe: false (none), the number of proxies in front
     * (hops), or the proxies' addresses / CIDR ranges (a list or a comma-separated string).
     */
    trust_proxy: z.union([z.boolean(), z.number().int().min(0).max(32), z.string(), z.array(z.string())]).optional(),
    /** Whole request (headers and body) must arrive within this; 408 otherwise. */
    request_timeout_ms: z.number().int().min(100).optional(),
    /** Request headers must arrive within this. */
    headers_timeout_ms: z.number().int().min(100).optional(),
    /** Idle keep-alive connections are closed after this. */
    keep_alive_timeout_ms: z.number().int().min(100).optional(),
    /** Open connections per source address (IPv6: per /64); 0 turns the cap off. */
    max_connections_per_source: z.number().int().min(0).optional(),
    /** On shutdown, requests being handled get this long before every connection is closed. */
    shutdown_grace_ms: z.number().int().min(0).optional(),
  }).optional(),
  jwks_fetch: z.strictObject({
    timeout_ms: z.number().int().positive().optional(),
    max_bytes: z.number().int().positive().optional(),
    min_cache: z.number().int().min(0).optional(),
    max_cache: z.number().int().min(0).optional(),
    cooldown: z.number().int().min(0).optional(),
    max_stale: z.number().int().min(0).optional(),
    failure_backoff: z.number().int().min(0).optional(),
    max_failure_backoff: z.number().int().min(0).optional(),
    /** Addresses or CIDR ranges a jwks_uri may reach though private/loopback, and over plain http. */
    allow: z.array(z.string()).optional(),
  }).optional(),
  demo_client: z.boolean().optional(),
  /** Brute-force protection: failed client authentications per (client id, source address). */
  throttle: z.strictObject({
    max_failures: z.number().int().min(0).optional(),
    /** Failures per source address (any client id) per window; 0 turns this cap off. */
    max_failures_per_source: z.number().int().min(0).optional(),
    window: z.number().int().positive().optional(),
    /** Most counters and blocks kept in memory (oldest evicted first). */
    max_keys: z.number().int().min(100).optional(),
  }).optional(),
  /** Global cap on concurrent secret-verification KDF (scrypt) work; excess gets 503 + Retry-After. */
  kdf: z.strictObject({
    max_concurrent: z.number().int().min(1).max(64).optional(),
    max_queue: z.number().int().min(0).optional(),
    max_wait_ms: z.number().int().min(1).optional(),
  }).optional(),
  /** Profile of the default realm, and of realms that name none. */
  profile: profileSchema.optional(),
  /** Scope catalogue of the default realm. */
  scopes: scopesSchema.optional(),
  assertions: assertionSchema.optional(),
  tokens: tokenSchema.optional(),
  keys: keySchema.optional(),
  /** Clients of the default realm, upserted at start-up. */
  clients: z.array(clientMetadataSchema).optional(),
  realms: z.array(realmSchema).optional(),
  /** The admin API (/admin/v1): the realm whose tokens it accepts, and an optional listener of its own. */
  admin: z.strictObject({
    realm: realmSchema.shape.name.optional(),
    listen: z.strictObject({ host: z.string().optional(), port: z.number().int().min(0).max(65535) }).optional(),
  }).optional(),
  /**
   * The web console (/console): session timeouts, and single sign-on with the organisation's
   * OpenID Provider (authorization code + PKCE). Only the listed subjects and/or the members of the
   * listed groups may sign in; everyone else is refused after authenticating at the provider.
   */
  console: z.strictObject({
    idle_timeout: seconds.optional(),
    absolute_timeout: seconds.optional(),
    sso: z.strictObject({
      issuer: z.url(),
      client_id: z.string().min(1).max(255),
      /** Also from the environment: TESSERA_CONSOLE_SSO_CLIENT_SECRET (preferred over the file). */
      client_secret: z.string().min(1).optional(),
      /** Where the provider sends the browser back: <console URL>/sso/callback. */
      redirect_uri: z.url(),
      /** Scopes asked of the provider (default "openid email profile"). */
      scope: z.string().optional(),
      allowed_subjects: z.array(z.string().min(1)).optional(),
      allowed_groups: z.array(z.string().min(1)).optional(),
      /** The ID token / userinfo claim holding the groups (default "groups"). */
      groups_claim: z.string().min(1).optional(),
      /** Admin scopes a person signed in by SSO gets (default "tessera:admin"). */
      admin_scope: z.string().min(1).optional(),
    }).refine((v) => (v.allowed_subjects?.length ?? 0) + (v.allowed_groups?.length ?? 0) > 0, { message: 'name allowed_subjects and/or allowed_groups: with neither, nobody could sign in' }).optional(),
  }).optional(),
  /** The management listener: /metrics, /healthz, /readyz (`listen: false` turns it off). */
  management: z.strictObject({
    listen: z.union([z.literal(false), z.strictObject({ host: z.string().optional(), port: z.number().int().min(0).max(65535).optional() })]).optional(),
  }).optional(),
  /** Prometheus metrics; per-client labels are off by default (cardinality). */
  metrics: z.strictObject({
    enabled: z.boolean().optional(),
    per_client: z.boolean().optional(),
    /** nodejs_gc_duration_seconds: observes every garbage collection, which costs tokens/s (docs/metrics.md). */
    gc_durations: z.boolean().optional(),
  }).optional(),
  /** The audit trail: events older than retention_days are pruned behind an anchor. */
  audit: z.strictObject({ retention_days: z.number().int().min(1).max(36500).optional() }).optional(),
});
export type ConfigFile = z.infer<typeof configFileSchema>;

/** Formats zod issues as "path.to.field: message" lines. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      const path = i.path.length ? i.path.map(String).join('.') : '(root)';
      const extra = i.code === 'unrecognized_keys' ? ` (${(i as { keys: string[] }).keys.join(', ')})` : '';
      return `${path}: ${i.message}${extra}`;
    })
    .join('\n');
}
