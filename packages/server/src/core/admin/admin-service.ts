/**
 * The admin operations (AdminOperations in ./service.ts), on the core's own parts. Every change
 * is written with compare-and-set on the client's version, announced on the change feed (every
 * instance drops its cached copy) and appended to the audit trail with secrets redacted.
 */
import type { ResolvedConfig, RealmConfig, ClientMetadataInput, JwksFetchPolicy } from '../config/index.ts';
import { clientMetadataSchema, formatIssues, runtimeRealmSchema } from '../config/index.ts';
import { AdminError } from '../errors/index.ts';
import { isReasonCode, type ReasonCode } from '../errors/reasons.ts';
import type { AuditEventRecord, ClientRecord, Clock, RealmRecord, Storage } from '../ports/index.ts';
import type { KeyEncryptionKey } from '../crypto/kek.ts';
import type { ClientRegistry } from '../clients/registry.ts';
import { RemoteJwksCache } from '../clients/remote-jwks.ts';
import { generateSecret, type SecretVerifier } from '../clients/secrets.ts';
import { applySecret, buildClientRecord, toClientMetadata } from '../clients/metadata.ts';
import type { KeyManager } from '../keys/key-manager.ts';
import { auditHash, canonicalJson, redact, verifyChain } from './audit.ts';
import { SECRET_FINGERPRINT_PURPOSE, clientDrift, planSync, settingsOf } from './config-sync.ts';
import { parseKeyUpload } from './key-upload.ts';
import { failureHint } from './failures.ts';
import { ACTIVITY_MINUTES, type ActivityCounter, type ActivityView } from './activity.ts';
import type { FailureRecorder } from './failures.ts';
import type { AdminOperations } from './service.ts';
import {
  CONFIG_ACTOR,
  type Actor,
  type AuditEventView,
  type AuditPage,
  type AuditQuery,
  type AuditVerifyResult,
  type ClientCreated,
  type ClientKeyUpload,
  type ClientPage,
  type ClientQuery,
  type ClientView,
  type DisableOptions,
  type FailureQuery,
  type FailureView,
  type IfVersion,
  type JwksCheckResult,
  type KeyRevokeOptions,
  type RealmInput,
  type RealmView,
  type SecretRotation,
  type SecretRotationOptions,
  type SigningKeyView,
} from './types.ts';

export const DEFAULT_SECRET_GRACE_SECONDS = 86_400;

export interface AdminDeps {
  config: ResolvedConfig;
  storage: Storage;
  kek: KeyEncryptionKey;
  clock: Clock;
  clients: ClientRegistry;
  keys: KeyManager;
  secrets: SecretVerifier;
  jwksFetch: JwksFetchPolicy;
  failures: FailureRecorder;
  activity: ActivityCounter;
  /** Told the jti of each token revoked here (token reuse forgets it). */
  onRevoked?: (jti: string) => void;
  /** Told the scopes of each client written here (the metadata's scopes_supported follows them). */
  onClientWritten?: (realm: string, scopes: readonly string[]) => void;
  /** The server's side of runtime realms (it owns the realm map, keys and metadata). */
  realms: RuntimeRealmHooks;
}

export interface RuntimeRealmHooks {
  /** Declared in the configuration file (never stored, never deleted through the API). */
  isDeclared(name: string): boolean;
  /** Resolves a runtime realm's settings with the file's rules; throws AdminError invalid_request. */
  build(record: Pick<RealmRecord, 'name' | 'settings'>): RealmConfig;
  /** Serves the realm here from now on (creating its first signing key). */
  loaded(record: RealmRecord, realm: RealmConfig): Promise<void>;
  /** Stops serving the realm here. */
  dropped(name: string): Promise<void>;
}

function notFound(what: string): never {
  throw new AdminError('not_found', what);
}

/** RFC 7386 JSON Merge Patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function parseMetadata(input: unknown): ClientMetadataInput {
  const parsed = clientMetadataSchema.safeParse(input);
  if (!parsed.success) throw new AdminError('invalid_metadata', formatIssues(parsed.error.issues));
  return parsed.data;
}

function toAuditView(e: AuditEventRecord): AuditEventView {
  return { seq: e.seq, at: e.at / 1000, time: new Date(e.at).toISOString(), type: e.type, realm: e.realm, client_id: e.clientId, actor: e.actor, data: e.data, prev_hash: e.prevHash, hash: e.hash };
}

/** The realm's scope catalogue: when not empty, a client's scopes must all be in it. */
const scopeCatalogue = (realm: RealmConfig): string[] => realm.scopes.map((x) => x.name);

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : Math.floor(ms / 1000));

export class AdminService implements AdminOperations {
  readonly #d: AdminDeps;

  constructor(deps: AdminDeps) {
    this.#d = deps;
  }

  // ---- helpers ----------------------------------------------------------------------------

  #realm(name: string): RealmConfig {
    const realm = this.#d.config.realms.get(name);
    if (!realm) notFound(`unknown realm ${name}`);
    return realm;
  }

  async #record(realm: string, clientId: string): Promise<ClientRecord> {
    const record = await this.#d.storage.clients.get(realm, clientId);
    if (!record) notFound(`no client ${clientId} in realm ${realm}`);
    return record;
  }

  #now(): number {
    return this.#d.clock.now();
  }

  view(record: ClientRecord): ClientView {
    const grace = record.previousSecretExpiresAt !== undefined && record.previousSecretExpiresAt > this.#now() ? record.previousSecretExpiresAt : undefined;
    const out: ClientView = { client: toClientMetadata(record), version: String(record.updatedAt), declared: record.declared !== undefined, drift: clientDrift(record) };
    if (record.notBefore !== undefined) out.not_before = seconds(record.notBefore);
    if (grace !== undefined) out.previous_secret_expires_at = seconds(grace);
    return out;
  }

  /** Appends one event to the audit trail. */
  async audit(actor: Actor, type: string, realm: string | null, clientId: string | null, data: Record<string, unknown>): Promise<AuditEventRecord> {
    const a: AuditEventRecord['actor'] = { id: actor.id };
    if (actor.source !== undefined) a.source = actor.source;
    if (actor.requestId !== undefined) a.requestId = actor.requestId;
    const [event] = await this.#d.storage.audit.append([{ at: this.#now(), type, realm, clientId, actor: a, data: redact(data) as Record<string, unknown> }], auditHash);
    return event!;
  }

  async #announce(realm: string, clientId: string): Promise<void> {
    this.#d.clients.invalidate(realm, clientId);
    await this.#d.storage.changes.publish({ realm, kind: 'client', id: clientId });
  }

  /** Compare-and-set write of a changed client, announced and audited. */
  async #commit(actor: Actor, type: string, before: ClientRecord, after: ClientRecord, opts: IfVersion = {}, extra: Record<string, unknown> = {}): Promise<ClientRecord> {
    if (opts.ifVersion !== undefined && opts.ifVersion !== String(before.updatedAt)) {
      throw new AdminError('precondition_failed', `client ${before.clientId} changed since version ${opts.ifVersion} (now ${before.updatedAt}); read it again`);
    }
    after.updatedAt = Math.max(this.#now(), before.updatedAt + 1);
    if (!(await this.#d.storage.clients.update(after, before.updatedAt))) {
      throw new AdminError('precondition_failed', `client ${before.clientId} was changed by someone else meanwhile; read it again`);
    }
    await this.#announce(after.realm, after.clientId);
    this.#d.onClientWritten?.(after.realm, after.scopes);
    await this.audit(actor, type, after.realm, after.clientId, { before: this.#auditState(before), after: this.#auditState(after), ...extra });
    return after;
  }

  #auditState(r: ClientRecord): Record<string, unknown> {
    const s: Record<string, unknown> = settingsOf(r);
    if (r.notBefore !== undefined) s.not_before = seconds(r.notBefore);
    if (r.previousSecretExpiresAt !== undefined) s.previous_secret_expires_at = seconds(r.previousSecretExpiresAt);
    return s;
  }

  /** Carries the runtime state a rebuilt record must keep. */
  #keepRuntimeState(from: ClientRecord, to: ClientRecord, secretReplaced: boolean): void {
    to.createdAt = from.createdAt;
    if (from.notBefore !== undefined) to.notBefore = from.notBefore;
    if (from.declared !== undefined) to.declared = structuredClone(from.declared);
    if (!secretReplaced && to.secretHash === from.secretHash) {
      if (from.previousSecretHash !== undefined) to.previousSecretHash = from.previousSecretHash;
      if (from.previousSecretEncrypted !== undefined) to.previousSecretEncrypted = from.previousSecretEncrypted;
      if (from.previousSecretExpiresAt !== undefined) to.previousSecretExpiresAt = from.previousSecretExpiresAt;
    }
  }

  // ---- realms -----------------------------------------------------------------------------

  async #realmView(realm: RealmConfig): Promise<RealmView> {
    return { name: realm.name, issuer: realm.issuer, source: this.#d.realms.isDeclared(realm.name) ? 'config' : 'runtime', client_count: await this.#d.storage.clients.count(realm.name) };
  }

  async listRealms(_actor: Actor): Promise<RealmView[]> {
    return Promise.all([...this.#d.config.realms.values()].map((r) => this.#realmView(r)));
  }

  async getRealm(_actor: Actor, name: string): Promise<RealmView> {
    return this.#realmView(this.#realm(name));
  }

  /**
   * Creates a runtime realm: the realm-level settings of the configuration file (name, profile,
   * scopes, tokens, assertions, keys), validated and resolved by the same rules. Whatever is stored
   * under the name from an earlier realm (clients, signing keys: a realm deleted half-way, or one
   * once declared in the file) is removed first, so nothing of it comes back.
   */
  async createRealm(actor: Actor, input: RealmInput): Promise<RealmView> {
    const parsed = runtimeRealmSchema.safeParse(input);
    if (!parsed.success) throw new AdminError('invalid_request', formatIssues(parsed.error.issues));
    const { name, ...settings } = parsed.data;
    if (this.#d.realms.isDeclared(name)) throw new AdminError('conflict', `realm ${name} is declared in the configuration file`);
    const realm = this.#d.realms.build({ name, settings });
    const record: RealmRecord = { name, settings: settings as Record<string, unknown>, createdAt: this.#now() };
    if (!(await this.#d.storage.realms.create(record))) throw new AdminError('conflict', `realm ${name} exists`);
    const purged = await this.#purgeRealmData(name);
    await this.#d.realms.loaded(record, realm);
    await this.#d.storage.changes.publish({ realm: name, kind: 'realm', id: '' });
    await this.audit(actor, 'realm.created', name, null, { after: settings, issuer: realm.issuer, ...(purged.clients || purged.keys ? { purged } : {}) });
    return this.#realmView(realm);
  }

  /**
   * Deletes a runtime realm: no instance serves it any more, its clients are deleted (tombstones:
   * a client id registered again never revives old tokens) and so are its signing keys (a realm
   * created again with the name signs with new keys, so its predecessor's tokens never verify).
   */
  async deleteRealm(actor: Actor, name: string): Promise<void> {
    if (this.#d.realms.isDeclared(name)) throw new AdminError('refused', `realm ${name} is declared in the configuration file: remove it there`);
    const stored = await this.#d.storage.realms.get(name);
    if (!stored) {
      await this.#d.realms.dropped(name); // deleted elsewhere, and this instance missed it
      notFound(`unknown realm ${name}`);
    }
    if (!(await this.#d.storage.realms.delete(name))) notFound(`unknown realm ${name}`);
    await this.#d.realms.dropped(name);
    await this.#d.storage.changes.publish({ realm: name, kind: 'realm', id: '' });
    // Nothing serves the realm now; a crash before the end leaves data that a re-creation removes.
    const purged = await this.#purgeRealmData(name);
    await this.audit(actor, 'realm.deleted', name, null, { before: stored.settings, deleted: purged });
  }

  /** Deletes every client (leaving tombstones) and every signing key stored under a realm name. */
  async #purgeRealmData(name: string): Promise<{ clients: number; keys: number }> {
    let clients = 0;
    for (;;) {
      const page = await this.#d.storage.clients.list(name, { limit: 500 });
      if (page.length === 0) break;
      let deleted = 0;
      for (const c of page) if (await this.#d.storage.clients.delete(name, c.clientId)) deleted++;
      clients += deleted;
      if (deleted === 0) break; // deleted meanwhile by someone else, and listed again: nothing left to do
    }
    let keys = 0;
    for (const k of await this.#d.storage.keys.list(name)) if (await this.#d.storage.keys.delete(name, k.kid)) keys++;
    return { clients, keys };
  }

  // ---- clients ----------------------------------------------------------------------------

  async listClients(_actor: Actor, realmName: string, query: ClientQuery = {}): Promise<ClientPage> {
    const realm = this.#realm(realmName);
    const limit = query.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new AdminError('invalid_request', 'limit: a whole number from 1 to 200');
    let after: string | undefined;
    if (query.cursor !== undefined) {
      try {
        after = Buffer.from(query.cursor, 'base64url').toString('utf8');
      } catch {
        throw new AdminError('invalid_request', 'cursor: not a cursor this server made');
      }
    }
    const text = query.text?.toLowerCase();
    const matches = (r: ClientRecord) =>
      (text === undefined || r.clientId.toLowerCase().includes(text) || (r.clientName ?? '').toLowerCase().includes(text)) &&
      (query.method === undefined || r.tokenEndpointAuthMethod === query.method) &&
      (query.disabled === undefined || r.disabled === query.disabled);
    const out: ClientRecord[] = [];
    let more = false;
    // Filters run on pages read in id order; a scan is bounded so one request cannot read everything.
    for (let scanned = 0; scanned < 20_000; ) {
      const page = await this.#d.storage.clients.list(realm.name, { ...(after !== undefined ? { after } : {}), limit: 500 });
      scanned += page.length;
      for (const r of page) {
        after = r.clientId;
        if (!matches(r)) continue;
        if (out.length === limit) {
          more = true;
          break;
        }
        out.push(r);
      }
      if (more || page.length < 500) break;
    }
    const result: ClientPage = { clients: out.map((r) => this.view(r)) };
    if (more) result.next_cursor = Buffer.from(out.at(-1)!.clientId, 'utf8').toString('base64url');
    return result;
  }

  async getClient(_actor: Actor, realm: string, clientId: string): Promise<ClientView> {
    return this.view(await this.#record(this.#realm(realm).name, clientId));
  }

  async createClient(actor: Actor, realmName: string, metadata: unknown): Promise<ClientCreated> {
    const realm = this.#realm(realmName);
    const input = parseMetadata(metadata);
    return this.#create(actor, realm, input);
  }

  async #create(actor: Actor, realm: RealmConfig, input: ClientMetadataInput, declared?: ClientRecord['declared']): Promise<ClientCreated> {
    const now = this.#now();
    const built = await buildClientRecord(realm.name, input, { kek: this.#d.kek, now, maxTtlSeconds: realm.tokens.maxTtlSeconds, scopeCatalogue: scopeCatalogue(realm) });
    // A re-created id never revives its predecessor's tokens.
    const deletedAt = await this.#d.storage.clients.deletedAt(realm.name, input.client_id);
    if (deletedAt !== undefined) built.record.notBefore = Math.max(deletedAt, now);
    if (declared) built.record.declared = declared;
    if (!(await this.#d.storage.clients.create(built.record))) throw new AdminError('conflict', `client ${input.client_id} already exists in realm ${realm.name}`);
    await this.#announce(realm.name, built.record.clientId);
    this.#d.onClientWritten?.(realm.name, built.record.scopes);
    await this.audit(actor, 'client.created', realm.name, built.record.clientId, { after: this.#auditState(built.record) });
    const view: ClientCreated = this.view(built.record);
    if (built.generatedSecret !== undefined) view.client_secret = built.generatedSecret;
    return view;
  }

  async updateClient(actor: Actor, realmName: string, clientId: string, patch: unknown, opts: IfVersion = {}): Promise<ClientView & { client_secret?: string }> {
    const realm = this.#realm(realmName);
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw new AdminError('invalid_request', 'a merge patch (RFC 7386) must be a JSON object');
    const before = await this.#record(realm.name, clientId);
    const merged = mergePatch({ ...settingsOf(before), client_id: clientId }, patch) as Record<string, unknown>;
    if (merged.client_id !== clientId) throw new AdminError('invalid_metadata', 'client_id: cannot change');
    // The merged document is the whole new state: a member the patch removed (null) is absent, so
    // `owners` must not fall back to the stored owners as an upsert's does (RFC 7396).
    const parsed = parseMetadata(merged);
    const input: ClientMetadataInput = { ...parsed, owners: parsed.owners ?? [] };
    const built = await buildClientRecord(realm.name, input, { kek: this.#d.kek, now: this.#now(), maxTtlSeconds: realm.tokens.maxTtlSeconds, scopeCatalogue: scopeCatalogue(realm), existing: before });
    const secretReplaced = input.client_secret !== undefined || built.generatedSecret !== undefined;
    this.#keepRuntimeState(before, built.record, secretReplaced);
    if (secretReplaced && built.record.declared) built.record.declared.secretOverridden = true;
    const after = await this.#commit(actor, 'client.updated', before, built.record, opts, { patch: redact(patch) });
    const view: ClientView & { client_secret?: string } = this.view(after);
    if (built.generatedSecret !== undefined) view.client_secret = built.generatedSecret;
    return view;
  }

  async deleteClient(actor: Actor, realmName: string, clientId: string, opts: IfVersion = {}): Promise<void> {
    const realm = this.#realm(realmName);
    const before = await this.#record(realm.name, clientId);
    if (opts.ifVersion !== undefined && opts.ifVersion !== String(before.updatedAt)) {
      throw new AdminError('precondition_failed', `client ${clientId} changed since version ${opts.ifVersion}; read it again`);
    }
    if (!(await this.#d.storage.clients.delete(realm.name, clientId))) notFound(`no client ${clientId} in realm ${realm.name}`);
    await this.#announce(realm.name, clientId);
    await this.audit(actor, 'client.deleted', realm.name, clientId, { before: this.#auditState(before) });
  }

  async setClientDisabled(actor: Actor, realmName: string, clientId: string, disabled: boolean, opts: DisableOptions = {}): Promise<ClientView> {
    const realm = this.#realm(realmName);
    const before = await this.#record(realm.name, clientId);
    const after: ClientRecord = { ...structuredClone(before), disabled };
    if (opts.revokeTokens) after.notBefore = this.#now();
    return this.view(await this.#commit(actor, disabled ? 'client.disabled' : 'client.enabled', before, after, opts, { revoke_tokens: opts.revokeTokens === true }));
  }

  async rotateClientSecret(actor: Actor, realmName: string, clientId: string, opts: SecretRotationOptions = {}): Promise<SecretRotation> {
    const realm = this.#realm(realmName);
    const grace = opts.graceSeconds ?? DEFAULT_SECRET_GRACE_SECONDS;
    if (!Number.isInteger(grace) || grace < 0 || grace > 30 * 86400) throw new AdminError('invalid_request', 'grace: whole seconds from 0 to 2592000 (30 days)');
    const before = await this.#record(realm.name, clientId);
    if (before.secretHash === undefined) throw new AdminError('invalid_metadata', `client ${clientId} authenticates with ${before.tokenEndpointAuthMethod} and has no secret`);
    const now = this.#now();
    const secret = generateSecret(before.tokenEndpointAuthMethod === 'client_secret_jwt' ? 64 : 32);
    const after: ClientRecord = structuredClone(before);
    delete after.previousSecretHash;
    delete after.previousSecretEncrypted;
    delete after.previousSecretExpiresAt;
    if (grace > 0) {
      after.previousSecretHash = before.secretHash;
      if (before.secretEncrypted !== undefined) after.previousSecretEncrypted = before.secretEncrypted;
      after.previousSecretExpiresAt = now + grace * 1000;
    }
    await applySecret(after, secret, true, this.#d.kek);
    if (opts.revokeTokens) after.notBefore = now;
    if (after.declared) after.declared.secretOverridden = true;
    const written = await this.#commit(actor, 'client.secret_rotated', before, after, opts, { grace_seconds: grace, revoke_tokens: opts.revokeTokens === true });
    return { ...this.view(written), client_secret: secret };
  }

  async revokeClientTokens(actor: Actor, realmName: string, clientId: string): Promise<ClientView> {
    const realm = this.#realm(realmName);
    const before = await this.#record(realm.name, clientId);
    const after: ClientRecord = { ...structuredClone(before), notBefore: this.#now() };
    return this.view(await this.#commit(actor, 'client.tokens_revoked', before, after));
  }

  async addClientKey(actor: Actor, realmName: string, clientId: string, key: ClientKeyUpload, opts: IfVersion = {}): Promise<ClientView> {
    const realm = this.#realm(realmName);
    const before = await this.#record(realm.name, clientId);
    if (before.tokenEndpointAuthMethod !== 'private_key_jwt') throw new AdminError('invalid_request', `client ${clientId} authenticates with ${before.tokenEndpointAuthMethod}, not private_key_jwt: keys are not used`);
    if (before.jwksUri !== undefined) throw new AdminError('invalid_request', `client ${clientId} publishes its keys at its jwks_uri; upload keys there (or switch the client to jwks)`);
    const added = parseKeyUpload(key);
    const existing = before.jwks?.keys ?? [];
    for (const k of added) {
      if (existing.some((e) => e.kid === k.kid)) throw new AdminError('conflict', `client ${clientId} already has a key with kid ${k.kid}`);
    }
    return this.updateClient(actor, realm.name, clientId, { jwks: { keys: [...existing, ...added] } }, { ifVersion: opts.ifVersion ?? String(before.updatedAt) });
  }

  /** What a key upload would register (public JWKs), without storing anything; private keys are refused. */
  parseClientKey(key: ClientKeyUpload): Record<string, unknown>[] {
    return parseKeyUpload(key) as unknown as Record<string, unknown>[];
  }

  async removeClientKey(actor: Actor, realmName: string, clientId: string, kid: string, opts: IfVersion = {}): Promise<ClientView> {
    const realm = this.#realm(realmName);
    const before = await this.#record(realm.name, clientId);
    const keys = before.jwks?.keys ?? [];
    if (!keys.some((k) => k.kid === kid)) notFound(`client ${clientId} has no key ${kid}`);
    if (keys.length === 1) throw new AdminError('refused', `key ${kid} is the client's only key: add its successor first`);
    return this.updateClient(actor, realm.name, clientId, { jwks: { keys: keys.filter((k) => k.kid !== kid) } }, { ifVersion: opts.ifVersion ?? String(before.updatedAt) });
  }

  async checkJwksUri(actor: Actor, realmName: string, clientId: string, uri?: string): Promise<JwksCheckResult> {
    const realm = this.#realm(realmName);
    const record = await this.#record(realm.name, clientId);
    const target = uri ?? record.jwksUri;
    if (target === undefined) throw new AdminError('invalid_request', `client ${clientId} has no jwks_uri (and none was given)`);
    const started = performance.now();
    // A cache of its own: the check always fetches now, and never changes what the token endpoint uses.
    const cache = new RemoteJwksCache(this.#d.jwksFetch, this.#d.clock);
    let result: JwksCheckResult;
    try {
      const keys = await cache.get(target);
      const views = keys.map((k) => ({ kid: k.kid, kty: k.jwk.kty, alg: typeof k.jwk.alg === 'string' ? k.jwk.alg : undefined, use: typeof k.jwk.use === 'string' ? k.jwk.use : undefined, crv: typeof k.jwk.crv === 'string' ? k.jwk.crv : undefined, usable: true }));
      result = keys.length === 0
        ? { ok: false, uri: target, keys: views, error: 'the key set holds no usable public key', reason: 'jwks_no_usable_key' satisfies ReasonCode, elapsed_ms: Math.round(performance.now() - started) }
        : { ok: true, uri: target, keys: views, elapsed_ms: Math.round(performance.now() - started) };
    } catch (err) {
      const error = err instanceof Error ? `${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}` : String(err);
      const reason = (err as { reason?: unknown }).reason;
      result = { ok: false, uri: target, keys: [], error, reason: typeof reason === 'string' && isReasonCode(reason) ? reason : 'jwks_uri_fetch_failed', elapsed_ms: Math.round(performance.now() - started) };
    }
    await this.audit(actor, 'client.jwks_checked', realm.name, clientId, { uri: target, ok: result.ok, ...(result.error ? { error: result.error } : {}) });
    return result;
  }

  // ---- tokens -----------------------------------------------------------------------------

  async revokeToken(actor: Actor, realmName: string, jti: string, opts: { expiresAt?: number } = {}): Promise<void> {
    const realm = this.#realm(realmName);
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 255) throw new AdminError('invalid_request', 'jti: 1-255 characters');
    const expiresAt = opts.expiresAt !== undefined ? opts.expiresAt * 1000 : this.#now() + realm.tokens.maxTtlSeconds * 1000;
    await this.#d.storage.revocations.revoke(realm.name, jti, expiresAt);
    this.#d.onRevoked?.(jti);
    await this.audit(actor, 'token.revoked', realm.name, null, { jti, expires_at: seconds(expiresAt) });
  }

  // ---- signing keys -----------------------------------------------------------------------

  async listKeys(_actor: Actor, realmName: string): Promise<SigningKeyView[]> {
    const realm = this.#realm(realmName);
    await this.#d.keys.reload(realm.name);
    return this.#d.keys.describe(realm.name).map((k) => ({ kid: k.kid, alg: k.alg, state: k.state, activates_at: Math.floor(k.activatesAt / 1000) }));
  }

  /** The JWK Set exactly as the realm publishes it at its jwks_uri, and the rotation settings. */
  async publishedJwks(_actor: Actor, realmName: string): Promise<{ jwks_uri: string; jwks: { keys: Record<string, unknown>[] }; pre_publish_seconds: number; rotate_every_seconds: number | null }> {
    const realm = this.#realm(realmName);
    await this.#d.keys.reload(realm.name);
    return {
      jwks_uri: realm.jwksUri,
      jwks: this.#d.keys.jwks(realm.name) as unknown as { keys: Record<string, unknown>[] },
      pre_publish_seconds: realm.keys.prePublishSeconds,
      rotate_every_seconds: realm.keys.rotateEverySeconds ?? null,
    };
  }

  async rotateKeys(actor: Actor, realmName: string, opts: { immediate?: boolean } = {}): Promise<SigningKeyView> {
    const realm = this.#realm(realmName);
    const { kid, activatesAt } = await this.#d.keys.rotate(realm.name, opts);
    await this.audit(actor, 'key.rotated', realm.name, null, { kid, activates_at: seconds(activatesAt), immediate: opts.immediate === true });
    const view = (await this.listKeys(actor, realm.name)).find((k) => k.kid === kid);
    return view ?? { kid, alg: realm.tokens.signingAlg, state: 'next', activates_at: Math.floor(activatesAt / 1000) };
  }

  async revokeKey(actor: Actor, realmName: string, kid: string, opts: KeyRevokeOptions = {}): Promise<void> {
    const realm = this.#realm(realmName);
    await this.#d.keys.reload(realm.name);
    const keys = this.#d.keys.describe(realm.name);
    const target = keys.find((k) => k.kid === kid);
    if (!target) notFound(`no active key ${kid} in realm ${realm.name}`);
    let promoted: string | undefined;
    if (target.state === 'active') {
      const successor = keys.filter((k) => k.state === 'next').at(-1);
      if (!successor) throw new AdminError('refused', `key ${kid} is the only key of realm ${realm.name} that can sign: rotate first (keys rotate --immediate), then revoke it`);
      if (!opts.promoteSuccessor) {
        throw new AdminError('refused', `key ${kid} signs for realm ${realm.name} and its successor ${successor.kid} is only pre-published: revoke with promote_successor (--promote) to activate ${successor.kid} at once, or wait until it is active`);
      }
      await this.#d.keys.promote(realm.name, successor.kid);
      promoted = successor.kid;
    }
    if (!(await this.#d.keys.revoke(realm.name, kid))) notFound(`no active key ${kid} in realm ${realm.name}`);
    await this.audit(actor, 'key.revoked', realm.name, null, { kid, ...(promoted ? { promoted } : {}) });
  }

  // ---- audit ------------------------------------------------------------------------------

  #auditOptions(q: AuditQuery, limit: number) {
    const num = (v: number | undefined, name: string) => {
      if (v !== undefined && !Number.isFinite(v)) throw new AdminError('invalid_request', `${name}: a number`);
      return v;
    };
    return {
      ...(num(q.since, 'since') !== undefined ? { since: q.since! * 1000 } : {}),
      ...(num(q.until, 'until') !== undefined ? { until: q.until! * 1000 } : {}),
      ...(num(q.after, 'after') !== undefined ? { after: q.after! } : {}),
      ...(q.realm !== undefined ? { realm: q.realm } : {}),
      ...(q.client_id !== undefined ? { clientId: q.client_id } : {}),
      ...(q.type !== undefined ? { type: q.type } : {}),
      limit,
    };
  }

  async listAudit(_actor: Actor, query: AuditQuery = {}): Promise<AuditPage> {
    const limit = query.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new AdminError('invalid_request', 'limit: a whole number from 1 to 1000');
    const events = await this.#d.storage.audit.list(this.#auditOptions(query, limit));
    const page: AuditPage = { events: events.map(toAuditView) };
    if (events.length === limit) page.next_cursor = events.at(-1)!.seq;
    return page;
  }

  async *exportAudit(_actor: Actor, query: AuditQuery = {}): AsyncIterable<string> {
    let after = query.after;
    for (;;) {
      const page = await this.#d.storage.audit.list(this.#auditOptions({ ...query, ...(after !== undefined ? { after } : {}) }, 1000));
      for (const e of page) yield `${JSON.stringify(toAuditView(e))}\n`;
      if (page.length < 1000) return;
      after = page.at(-1)!.seq;
    }
  }

  async verifyAudit(_actor: Actor): Promise<AuditVerifyResult> {
    return verifyChain(this.#d.storage.audit);
  }

  async recordEvent(actor: Actor, type: string, realm: string | null, clientId: string | null, data: Record<string, unknown>): Promise<AuditEventView> {
    return toAuditView(await this.audit(actor, type, realm, clientId, data));
  }

  /** Deletes audit events older than `retentionDays`, keeping the chain verifiable (anchor). */
  async pruneAudit(actor: Actor, retentionDays: number): Promise<number> {
    const removed = await this.#d.storage.audit.prune(this.#now() - retentionDays * 86_400_000);
    if (removed > 0) await this.audit(actor, 'audit.pruned', null, null, { removed, retention_days: retentionDays });
    return removed;
  }

  // ---- recorded failures ------------------------------------------------------------------

  async listFailures(_actor: Actor, realmName: string, query: FailureQuery = {}): Promise<FailureView[]> {
    const realm = this.#realm(realmName);
    const limit = query.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new AdminError('invalid_request', 'limit: a whole number from 1 to 500');
    await this.#d.failures.flush();
    // A time window reads the most the store keeps, then narrows (aggregates overlapping it).
    const windowed = query.since !== undefined || query.until !== undefined;
    let rows = await this.#d.storage.failures.list(realm.name, { ...(query.client_id !== undefined ? { clientId: query.client_id } : {}), limit: windowed ? 500 : limit });
    if (windowed) {
      const since = query.since !== undefined ? query.since * 1000 : -Infinity;
      const until = query.until !== undefined ? query.until * 1000 : Infinity;
      rows = rows.filter((f) => f.lastSeen >= since && f.firstSeen <= until).slice(0, limit);
    }
    return rows.map((f) => ({
      realm: f.realm,
      client_id: f.clientId,
      endpoint: f.endpoint as FailureView['endpoint'],
      method: f.method,
      source: f.source,
      error: f.error,
      reason: f.reason,
      facts: f.facts,
      hint: failureHint(f.reason),
      count: f.count,
      first_seen: f.firstSeen / 1000,
      last_seen: f.lastSeen / 1000,
    }));
  }

  /** Tokens issued and refusals per minute (this instance), for the realm or one of its clients. */
  async activity(_actor: Actor, realmName: string, query: { client_id?: string | undefined; minutes?: number | undefined } = {}): Promise<ActivityView & { realm: string; client_id: string | null }> {
    const realm = this.#realm(realmName);
    const minutes = query.minutes ?? 30;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > ACTIVITY_MINUTES) throw new AdminError('invalid_request', `minutes: a whole number from 1 to ${ACTIVITY_MINUTES}`);
    return { realm: realm.name, client_id: query.client_id ?? null, ...(await this.#d.activity.view(realm.name, query.client_id, minutes)) };
  }

  // ---- config sync (start-up) -------------------------------------------------------------

  /**
   * Applies the configuration's clients (see ./config-sync.ts). Resolves what it did per client:
   * 'created', 'updated' (with the fields) or 'unchanged'.
   */
  async syncDeclaredClients(actor: Actor = CONFIG_ACTOR): Promise<Array<{ realm: string; client_id: string; action: 'created' | 'updated' | 'unchanged'; fields?: string[] }>> {
    const out: Array<{ realm: string; client_id: string; action: 'created' | 'updated' | 'unchanged'; fields?: string[] }> = [];
    for (const realm of this.#d.config.realms.values()) {
      for (const input of realm.clients) {
        // Instances starting together race on the same clients: a lost race (the id was just
        // created, or the version moved) is retried on what the winner wrote.
        for (let attempt = 1; ; attempt++) {
          try {
            out.push(await this.#syncOne(actor, realm, input));
            break;
          } catch (err) {
            if (!(err instanceof AdminError && (err.code === 'conflict' || err.code === 'precondition_failed')) || attempt >= 5) throw err;
          }
        }
      }
    }
    return out;
  }

  async #syncOne(actor: Actor, realm: RealmConfig, input: ClientMetadataInput): Promise<{ realm: string; client_id: string; action: 'created' | 'updated' | 'unchanged'; fields?: string[] }> {
    const fingerprint = input.client_secret === undefined ? undefined : this.#d.kek.fingerprint(`${realm.name}\0${input.client_id}\0${input.client_secret}`, SECRET_FINGERPRINT_PURPOSE);
    const existing = await this.#d.storage.clients.get(realm.name, input.client_id);
    const { client_secret: _secret, ...withoutSecret } = input;
    if (!existing) {
      const built = await buildClientRecord(realm.name, withoutSecret, { kek: this.#d.kek, now: this.#now(), maxTtlSeconds: realm.tokens.maxTtlSeconds, scopeCatalogue: scopeCatalogue(realm) });
      const declared: NonNullable<ClientRecord['declared']> = { fields: settingsOf(built.record) };
      if (fingerprint !== undefined) declared.secretFingerprint = fingerprint;
      await this.#create(actor, realm, input, declared);
      return { realm: realm.name, client_id: input.client_id, action: 'created' };
    }
    // The file's client as settings, built without its secret (no hashing) on top of the stored one.
    const declaredNow = settingsOf((await buildClientRecord(realm.name, withoutSecret, { kek: this.#d.kek, now: this.#now(), maxTtlSeconds: realm.tokens.maxTtlSeconds, scopeCatalogue: scopeCatalogue(realm), existing })).record);
    // Only on first adoption (no record of what the file said) is the stored hash consulted.
    const secretDiffers = existing.declared === undefined && input.client_secret !== undefined ? !(await this.#d.secrets.verify(existing.secretHash, input.client_secret)) : false;
    const plan = planSync(existing, input, declaredNow, fingerprint, secretDiffers);
    const sameDeclared = existing.declared !== undefined && canonicalJson(existing.declared) === canonicalJson(plan.declared);
    if (plan.changed.length === 0 && !plan.secretChanged && sameDeclared) {
      return { realm: realm.name, client_id: input.client_id, action: 'unchanged' };
    }
    const built = await buildClientRecord(realm.name, plan.next, { kek: this.#d.kek, now: this.#now(), maxTtlSeconds: realm.tokens.maxTtlSeconds, scopeCatalogue: scopeCatalogue(realm), existing });
    this.#keepRuntimeState(existing, built.record, plan.secretChanged);
    built.record.declared = plan.declared;
    const fields = [...plan.changed, ...(plan.secretChanged ? ['client_secret'] : [])];
    if (fields.length === 0) {
      // Only the record of what the file declares changed (e.g. an upgrade): no announcement needed, still versioned.
      built.record.updatedAt = Math.max(this.#now(), existing.updatedAt + 1);
      await this.#d.storage.clients.update(built.record, existing.updatedAt);
    } else {
      await this.#commit(actor, 'client.config_applied', existing, built.record, {}, { fields });
    }
    return { realm: realm.name, client_id: input.client_id, action: fields.length ? 'updated' : 'unchanged', ...(fields.length ? { fields } : {}) };
  }
}
