/**
 * The admin operations' vocabulary: what the HTTP admin API (/admin/v1), the CLI and tests call on
 * `server.admin` (core/admin/service.ts). Wire names are snake_case (RFC 7591 for clients); times
 * on the wire are seconds since the epoch unless a name ends in `_ms`.
 *
 * Errors: every operation throws AdminError (core/errors) with one of its codes:
 *   not_found → 404, conflict → 409, invalid_metadata / invalid_key / invalid_request → 400,
 *   precondition_failed (stale version / If-Match) → 412, refused (the operation would break the
 *   realm, e.g. revoking the only signing key) → 409. Anything else is a bug (500).
 */
import type { RuntimeRealmInput } from '../config/index.ts';

/** Who does an admin operation, for the audit trail. */
export interface Actor {
  /** The admin client id (HTTP), `cli:<os user>` (local CLI) or `config` (start-up sync), `system` (scheduled jobs). */
  id: string;
  /** The caller's address, when known. */
  source?: string | undefined;
  /** The HTTP request id, when there is one. */
  requestId?: string | undefined;
}

export const SYSTEM_ACTOR: Actor = Object.freeze({ id: 'system' });
export const CONFIG_ACTOR: Actor = Object.freeze({ id: 'config' });

// ---- Realms -------------------------------------------------------------------------------

export interface RealmView {
  name: string;
  issuer: string;
  /** 'config': declared in the configuration file (cannot be deleted through the API); 'runtime': created by an operator. */
  source: 'config' | 'runtime';
  client_count: number;
}

/** A runtime realm: the realm-level settings of the config file, in its names (core/config/schema.ts runtimeRealmSchema). */
export type RealmInput = RuntimeRealmInput;

// ---- Clients ------------------------------------------------------------------------------

export interface ClientQuery {
  /** Opaque cursor from a previous page's `next_cursor`. */
  cursor?: string | undefined;
  /** Page size, 1-200 (default 50). */
  limit?: number | undefined;
  /** Case-insensitive substring of client_id or client_name. */
  text?: string | undefined;
  method?: string | undefined;
  disabled?: boolean | undefined;
}

/** A client as the admin API shows it. */
export interface ClientView {
  /** RFC 7591 metadata (never a secret or its hash), plus Tessera's settings. */
  client: Record<string, unknown>;
  /** Opaque version for ETag / If-Match (changes on every write). */
  version: string;
  /** Declared in the configuration file. */
  declared: boolean;
  /** Metadata names where the stored client differs from the configuration file (empty when not declared). */
  drift: string[];
  /** Tokens issued before this instant (seconds) are inactive at introspection. */
  not_before?: number | undefined;
  /** While set, the previous secret still authenticates (seconds). */
  previous_secret_expires_at?: number | undefined;
}

export interface ClientPage {
  clients: ClientView[];
  /** Present when there are more clients. */
  next_cursor?: string | undefined;
}

/** Optimistic concurrency: the version the caller last read (from the ETag). */
export interface IfVersion {
  ifVersion?: string | undefined;
}

export interface ClientCreated extends ClientView {
  /** Present when Tessera generated the secret: shown once. */
  client_secret?: string | undefined;
}

export interface SecretRotationOptions extends IfVersion {
  /** Seconds the previous secret keeps working (default 86400; 0 = stops at once). */
  graceSeconds?: number | undefined;
  /** Also make every token issued so far inactive (per-client not-before). */
  revokeTokens?: boolean | undefined;
}

export interface SecretRotation extends ClientView {
  /** The new secret, shown once. */
  client_secret: string;
}

export interface DisableOptions extends IfVersion {
  /** Also make every token issued so far inactive (per-client not-before). */
  revokeTokens?: boolean | undefined;
}

/** What an operator uploads: a JWK, a JWK Set, a PEM public key or an X.509 certificate (PEM). */
export type ClientKeyUpload = string | Record<string, unknown>;

export interface JwksCheckResult {
  ok: boolean;
  uri: string;
  /** The keys found (public members only): kid, kty, alg, use, crv. */
  keys: Array<{ kid?: string | undefined; kty: string; alg?: string | undefined; use?: string | undefined; crv?: string | undefined; usable: boolean; problem?: string | undefined }>;
  /** Why the fetch or the set failed, precisely, when !ok. */
  error?: string | undefined;
  /** Stable code of the failure, when !ok. */
  reason?: string | undefined;
  elapsed_ms: number;
}

// ---- Signing keys ---------------------------------------------------------------------------

export interface SigningKeyView {
  kid: string;
  alg: string;
  state: 'next' | 'active' | 'retired' | 'expired';
  /** Seconds. */
  activates_at: number;
  created_at?: number | undefined;
}

export interface KeyRevokeOptions {
  /** When the key is the active one and its successor is only pre-published: activate the successor now. */
  promoteSuccessor?: boolean | undefined;
}

// ---- Audit --------------------------------------------------------------------------------

export interface AuditQuery {
  /** Seconds, inclusive. */
  since?: number | undefined;
  /** Seconds, exclusive. */
  until?: number | undefined;
  realm?: string | undefined;
  client_id?: string | undefined;
  /** Event type, e.g. `client.updated`; a trailing `.*` matches a prefix. */
  type?: string | undefined;
  /** Events after this seq (cursor). */
  after?: number | undefined;
  /** 1-1000, default 100. */
  limit?: number | undefined;
}

/** One audit event as shown (see docs/audit.md for the types). */
export interface AuditEventView {
  seq: number;
  /** Seconds with millisecond precision (ISO in `time`). */
  at: number;
  time: string;
  type: string;
  realm: string | null;
  client_id: string | null;
  actor: Actor;
  /** Before/after (secrets redacted) or the event's facts. */
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export interface AuditPage {
  events: AuditEventView[];
  next_cursor?: number | undefined;
}

export interface AuditVerifyResult {
  ok: boolean;
  /** Events checked. */
  checked: number;
  /** The first broken link: the seq of the first event whose stored hash or prev_hash does not match. */
  first_broken_seq?: number | undefined;
  problem?: string | undefined;
  /** The anchor the chain starts from after retention pruned older events. */
  anchor?: { seq: number; hash: string } | undefined;
}

// ---- Recorded authentication failures ---------------------------------------------------------

export interface FailureQuery {
  client_id?: string | undefined;
  /** Seconds: only aggregates seen at or after (last seen) / at or before (first seen). */
  since?: number | undefined;
  until?: number | undefined;
  /** 1-500, default 100. */
  limit?: number | undefined;
}

export interface FailureView {
  realm: string;
  client_id: string | null;
  endpoint: 'token' | 'introspect' | 'revoke';
  /** token_endpoint_auth_method tried, when known. */
  method: string | null;
  source: string | null;
  /** The OAuth error code the response carried. */
  error: string;
  /** The private reason code (err.reason ?? 'unspecified'). */
  reason: string;
  facts: Record<string, unknown>;
  /** One line: what a client developer should check. */
  hint: string;
  count: number;
  /** Seconds. */
  first_seen: number;
  last_seen: number;
}
