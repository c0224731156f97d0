/**
 * AdminService: the admin operations (issue 9), one method per operation, each taking the Actor
 * for the audit trail. Built by AuthorizationServer (`server.admin`); the HTTP admin API, the CLI
 * and tests call it. Types and error codes: ./types.ts.
 */
import type { ActivityView } from './activity.ts';
import type {
  Actor,
  AuditEventView,
  AuditPage,
  AuditQuery,
  AuditVerifyResult,
  ClientCreated,
  ClientKeyUpload,
  ClientPage,
  ClientQuery,
  ClientView,
  DisableOptions,
  FailureQuery,
  FailureView,
  IfVersion,
  JwksCheckResult,
  KeyRevokeOptions,
  RealmInput,
  RealmView,
  SecretRotation,
  SecretRotationOptions,
  SigningKeyView,
} from './types.ts';

export interface AdminOperations {
  // Realms
  listRealms(actor: Actor): Promise<RealmView[]>;
  getRealm(actor: Actor, realm: string): Promise<RealmView>;
  createRealm(actor: Actor, input: RealmInput): Promise<RealmView>;
  deleteRealm(actor: Actor, realm: string): Promise<void>;

  // Clients
  listClients(actor: Actor, realm: string, query?: ClientQuery): Promise<ClientPage>;
  getClient(actor: Actor, realm: string, clientId: string): Promise<ClientView>;
  /** `metadata` is validated as the config file's client entries are. */
  createClient(actor: Actor, realm: string, metadata: unknown): Promise<ClientCreated>;
  /** JSON Merge Patch (RFC 7386) of the client's metadata; client_id cannot change. */
  updateClient(actor: Actor, realm: string, clientId: string, patch: unknown, opts?: IfVersion): Promise<ClientView>;
  /** Leaves a per-client not-before: the client's tokens are inactive, also for a re-created id. */
  deleteClient(actor: Actor, realm: string, clientId: string, opts?: IfVersion): Promise<void>;
  setClientDisabled(actor: Actor, realm: string, clientId: string, disabled: boolean, opts?: DisableOptions): Promise<ClientView>;
  /** New generated secret (shown once); the previous one works until previous_secret_expires_at. */
  rotateClientSecret(actor: Actor, realm: string, clientId: string, opts?: SecretRotationOptions): Promise<SecretRotation>;
  /** Every token issued to the client before now becomes inactive (per-client not-before). */
  revokeClientTokens(actor: Actor, realm: string, clientId: string): Promise<ClientView>;
  /** Adds a public key (JWK, JWKS, PEM public key, X.509 PEM certificate) to a private_key_jwt client's jwks. */
  addClientKey(actor: Actor, realm: string, clientId: string, key: ClientKeyUpload, opts?: IfVersion): Promise<ClientView>;
  removeClientKey(actor: Actor, realm: string, clientId: string, kid: string, opts?: IfVersion): Promise<ClientView>;
  /** Fetches the client's jwks_uri (or `uri` when given) now and reports what it holds or why it failed. */
  checkJwksUri(actor: Actor, realm: string, clientId: string, uri?: string): Promise<JwksCheckResult>;

  // Tokens
  /** Revokes one token by jti (kept until `expiresAt` seconds, default now + the realm's max token lifetime). */
  revokeToken(actor: Actor, realm: string, jti: string, opts?: { expiresAt?: number }): Promise<void>;

  // Signing keys
  listKeys(actor: Actor, realm: string): Promise<SigningKeyView[]>;
  rotateKeys(actor: Actor, realm: string, opts?: { immediate?: boolean }): Promise<SigningKeyView>;
  /** Refused (AdminError 'refused') when it would leave the realm without a signing key, unless promoteSuccessor. */
  revokeKey(actor: Actor, realm: string, kid: string, opts?: KeyRevokeOptions): Promise<void>;

  // Audit trail
  listAudit(actor: Actor, query?: AuditQuery): Promise<AuditPage>;
  /** JSON lines, one event per line, in chain order. */
  exportAudit(actor: Actor, query?: AuditQuery): AsyncIterable<string>;
  verifyAudit(actor: Actor): Promise<AuditVerifyResult>;
  /** Records a security or admin event (used by the HTTP layer for e.g. admin sign-in refusals). */
  recordEvent(actor: Actor, type: string, realm: string | null, clientId: string | null, data: Record<string, unknown>): Promise<AuditEventView>;

  // Recorded authentication failures
  listFailures(actor: Actor, realm: string, query?: FailureQuery): Promise<FailureView[]>;
  /** The realm's JWK Set as published at its jwks_uri, with the rotation settings. */
  publishedJwks(actor: Actor, realm: string): Promise<{ jwks_uri: string; jwks: { keys: Record<string, unknown>[] }; pre_publish_seconds: number; rotate_every_seconds: number | null }>;
  /** Tokens issued and refusals per minute as this instance counted them (the console's chart). */
  activity(actor: Actor, realm: string, query?: { client_id?: string | undefined; minutes?: number | undefined }): Promise<ActivityView & { realm: string; client_id: string | null }>;
}

export function notImplemented(name: string): never {
  throw new Error(`admin operation ${name} is not implemented yet`);
}
