/**
 * createAuthorizationServer: the only place where the core is composed. The HTTP layer, the CLI and
 * tests talk to the core through this facade only.
 */
import { randomUUID } from 'node:crypto';
import type { AuthorizationServerMetadata, IntrospectionResponse, TokenResponse } from '../shared/oauth.ts';
import type { ResolvedConfig, RealmConfig, ClientMetadataInput } from './config/index.ts';
import { clientMetadataSchema, formatIssues, resolveRuntimeRealm } from './config/index.ts';
import { AdminError, InvalidRequestError, UnsupportedGrantTypeError, quoteSafe } from './errors/index.ts';
import type { Clock, JwkSet, RateLimiter, RealmRecord, Storage } from './ports/index.ts';
import { AuthThrottle } from './client-auth/throttle.ts';
import { warmDummyKeys } from './client-auth/dummy.ts';
import { createMemoryRateLimiter } from './limits/memory-rate-limiter.ts';
import { systemClock } from './ports/index.ts';
import type { KeyEncryptionKey } from './crypto/kek.ts';
import { ClientRegistry } from './clients/registry.ts';
import { RemoteJwksCache } from './clients/remote-jwks.ts';
import { SecretVerifier } from './clients/secrets.ts';
import { buildClientRecord, toClientMetadata } from './clients/metadata.ts';
import { authenticateClient, type AuthDeps, type AuthenticatedClient } from './client-auth/index.ts';
import { normaliseParams, type RawParams } from './params.ts';
import * as clientCredentials from './grants/client-credentials.ts';
import type { GrantDeps } from './grants/client-credentials.ts';
import { KeyManager } from './keys/key-manager.ts';
import { TokenReuseCache } from './tokens/reuse.ts';
import { introspect, type IntrospectDeps } from './introspection/introspect.ts';
import { revoke } from './revocation/revoke.ts';
import { buildMetadata } from './metadata/metadata.ts';
import { exportState, importState, type ExportDocument, type ImportSummary } from './transfer.ts';
import { OAuthError } from './errors/index.ts';
import type { ReasonCode } from './errors/reasons.ts';
import { AdminService } from './admin/admin-service.ts';
import { FailureRecorder, SECURITY_REASONS, type FailureLimits } from './admin/failures.ts';
import { ACTIVITY_MINUTES, ActivityCounter } from './admin/activity.ts';

import { claimedIdentity } from './admin/claimed.ts';
import { SYSTEM_ACTOR, type Actor } from './admin/types.ts';
import { auditHash } from './admin/audit.ts';

/** How often an instance adds its activity counts to the shared store. */
const ACTIVITY_FLUSH_MS = 5_000;

/** Who runs an admin method of AuthorizationServer called without an actor (local tools, tests). */
export const LOCAL_ACTOR: Actor = Object.freeze({ id: 'local' });
/** How often scheduled key rotation is checked (ms). */
const ROTATION_CHECK_MS = 60_000;

export interface EndpointRequest {
  realm: RealmConfig;
  /** Every value of every body parameter. */
  params: RawParams;
  authorization: string | undefined;
  /** The caller's address (brute-force throttling counts per client id and source). */
  source?: string | undefined;
}

export interface ServerOptions {
  config: ResolvedConfig;
  storage: Storage;
  kek: KeyEncryptionKey;
  clock?: Clock;
  /** Counts failed client authentications; defaults to a single-process limiter. */
  limiter?: RateLimiter;
  /**
   * Start-up duties (default true): create missing signing keys and upsert the clients the
   * configuration declares. The CLI's admin commands skip them and only load.
   */
  bootstrap?: boolean;
  /**
   * Whether this object will answer requests (default true). When it does, the dummy keys that
   * make refusals of unknown clients cost as much as real ones are made at start, off the request
   * path; a CLI command does not need them, and would otherwise wait for that key generation
   * (an RSA key: up to a second on a busy machine) before its process can exit.
   */
  serves?: boolean;
  /** Recorded authentication failures: bounds and flush interval (tests shorten it). */
  failureLimits?: Partial<FailureLimits>;
  /** Identifies this instance for cluster leases (default: random). */
  instanceId?: string;
  /** Told of issued tokens and jwks_uri fetches (metrics); must be cheap and never throw. */
  observer?: ServerObserver;
}

export interface ServerObserver {
  tokenIssued(realm: string, method: string, clientId: string): void;
  jwksFetched(ok: boolean, seconds: number): void;
}

/** Safety-net reload of signing keys; changes normally arrive through the change feed at once. */
const KEY_REFRESH_MS = 30_000;

const AUTH_PARAMS = ['client_id', 'client_secret', 'client_assertion', 'client_assertion_type'] as const;
const TOKEN_PARAMS = ['grant_type', ...AUTH_PARAMS, ...clientCredentials.parameters];
const TOKEN_INPUT_PARAMS = ['token', 'token_type_hint', ...AUTH_PARAMS];

export interface ClientWriteResult {
  client: Record<string, unknown>;
  /** Present when Tessera generated the secret: show it once. */
  client_secret?: string;
}

export class AuthorizationServer {
  readonly config: ResolvedConfig;
  readonly storage: Storage;
  readonly clock: Clock;
  readonly keys: KeyManager;
  readonly clients: ClientRegistry;
  /** The admin operations (issue 9): CLI, admin API and tests call these. */
  readonly admin: AdminService;
  /** Buffers refused requests and writes them in batches (off the request path). */
  readonly failures: FailureRecorder;
  /** Tokens issued and refusals per minute, last hour, as this instance saw them. */
  readonly activity: ActivityCounter;
  readonly instanceId: string;
  readonly #kek: KeyEncryptionKey;
  readonly #auth: AuthDeps;
  readonly #reuse = new TokenReuseCache();
  readonly #grantDeps: GrantDeps;
  readonly #introspectDeps: IntrospectDeps;
  readonly #metadata = new Map<string, AuthorizationServerMetadata>();
  #stopKeyRefresh: (() => void) | undefined;
  readonly #observer: ServerObserver | undefined;
  #rotationTimer: NodeJS.Timeout | undefined;
  readonly #activityTimer: NodeJS.Timeout;
  /** Every realm this instance serves: the declared ones, then runtime ones as they are created or loaded. */
  readonly #realms: Map<string, RealmConfig>;
  /** The realms the configuration file declares (they always win over a stored runtime realm of the same name). */
  readonly #declared: ReadonlySet<string>;
  /** The runtime realms loaded here: name → the stored record's createdAt (a re-created realm is another one). */
  readonly #runtime = new Map<string, number>();
  /** Runtime-realm changes are applied one at a time, in the order they arrive. */
  #realmQueue: Promise<void> = Promise.resolve();
  /** Whether this server creates signing keys (the CLI's admin commands only load). */
  readonly #createsKeys: boolean;

  private constructor(opts: ServerOptions) {
    // A copy of the realm map of its own: runtime realms are added to and removed from this server's
    // view only (a ResolvedConfig may be shared by several servers, as in tests).
    this.#realms = new Map(opts.config.realms);
    this.#declared = new Set(opts.config.realms.keys());
    this.config = Object.freeze({ ...opts.config, realms: this.#realms });
    this.#createsKeys = opts.bootstrap !== false;
    this.storage = opts.storage;
    this.clock = opts.clock ?? systemClock;
    this.#kek = opts.kek;
    this.#observer = opts.observer;
    this.keys = new KeyManager({ store: opts.storage.keys, kek: opts.kek, clock: this.clock, realms: this.#realms, changes: opts.storage.changes });
    this.clients = new ClientRegistry({ store: opts.storage.clients, kek: opts.kek, clock: this.clock, ttlSeconds: opts.config.clientCacheSeconds, changes: opts.storage.changes });
    this.#auth = {
      clients: this.clients,
      secrets: new SecretVerifier({ kdf: opts.config.kdf }),
      remoteJwks: new RemoteJwksCache(opts.config.jwksFetch, this.clock, opts.observer && ((ok, s) => opts.observer!.jwksFetched(ok, s))),
      replay: opts.storage.replay,
      clock: this.clock,
      throttle: new AuthThrottle(opts.limiter ?? createMemoryRateLimiter({ clock: this.clock, maxKeys: opts.config.throttle.maxKeys }), opts.config.throttle, this.clock),
    };
    this.#grantDeps = { keys: this.keys, clock: this.clock, reuse: this.#reuse, revocations: opts.storage.revocations };
    this.#introspectDeps = { keys: this.keys, clients: this.clients, revocations: opts.storage.revocations, clock: this.clock };
    for (const realm of this.#realms.values()) this.#refreshMetadata(realm.name);
    // A runtime realm created or deleted on any instance: load or drop it here.
    opts.storage.changes.subscribe((e) => {
      if (e.kind === 'realm') void this.#queueRealmSync(e.realm).catch(() => undefined);
      else if (e.kind === 'resync') void this.#queueRealmSync().catch(() => undefined);
    });
    // scopes_supported follows the clients' scopes, also when another process changes a client.
    opts.storage.changes.subscribe((e) => {
      if (e.kind !== 'client' || !this.config.realms.has(e.realm)) return;
      void this.storage.clients.get(e.realm, e.id).then((r) => r && this.#addClientScopes(e.realm, r.scopes), () => undefined);
    });
    this.instanceId = opts.instanceId ?? randomUUID();
    this.failures = new FailureRecorder(opts.storage.failures, opts.failureLimits);
    this.activity = new ActivityCounter(() => this.clock.now(), 1000, opts.storage.activity);
    // Counts reach the shared store every few seconds, so every instance's chart shows the cluster's.
    this.#activityTimer = setInterval(() => void this.activity.flush(), ACTIVITY_FLUSH_MS);
    this.#activityTimer.unref();
    this.failures.onFlushed = (batch) => this.#auditSecurityFailures(batch);
    this.admin = new AdminService({
      config: this.config,
      storage: opts.storage,
      kek: opts.kek,
      clock: this.clock,
      clients: this.clients,
      keys: this.keys,
      secrets: this.#auth.secrets,
      jwksFetch: opts.config.jwksFetch,
      failures: this.failures,
      activity: this.activity,
      onRevoked: (jti) => this.#reuse.forgetJti(jti),
      onClientWritten: (realm, scopes) => this.#addClientScopes(realm, scopes),
      realms: {
        isDeclared: (name) => this.#declared.has(name),
        build: (record) => this.#buildRealm(record),
        loaded: async (record, realm) => this.#queue(() => this.#loadRealm(record, realm, true)),
        dropped: async (name) => this.#queue(async () => this.#dropRealm(name)),
      },
    });
  }

  // ---- runtime realms ---------------------------------------------------------------------

  /** A stored runtime realm as a RealmConfig (the file's rules and fallbacks); AdminError invalid_request when it does not resolve. */
  #buildRealm(record: Pick<RealmRecord, 'name' | 'settings'>): RealmConfig {
    try {
      return resolveRuntimeRealm(this.config, { ...record.settings, name: record.name });
    } catch (err) {
      if (err instanceof TypeError) throw new AdminError('invalid_request', err.message);
      throw err;
    }
  }

  #queue(job: () => Promise<void>): Promise<void> {
    const run = this.#realmQueue.then(job);
    this.#realmQueue = run.catch(() => undefined);
    return run;
  }

  async #loadRealm(record: RealmRecord, realm: RealmConfig, createKeys: boolean): Promise<void> {
    if (this.#declared.has(record.name)) return;
    if (this.#runtime.has(record.name)) this.#dropRealm(record.name);
    this.#realms.set(realm.name, realm);
    this.#runtime.set(realm.name, record.createdAt);
    this.#clientScopes.delete(realm.name);
    this.#refreshMetadata(realm.name);
    await this.keys.initRealm(realm.name, { create: createKeys });
  }

  #dropRealm(name: string): void {
    if (this.#declared.has(name) || !this.#runtime.has(name)) return;
    this.#realms.delete(name);
    this.#runtime.delete(name);
    this.#metadata.delete(name);
    this.#clientScopes.delete(name);
    this.keys.forget(name);
    this.#reuse.forgetRealm(name);
    this.clients.clear();
  }

  /** Brings this instance's runtime realms in line with storage: one realm, or all of them. */
  #queueRealmSync(name?: string): Promise<void> {
    return this.#queue(() => this.#syncRealms(name));
  }

  async #syncRealms(name?: string): Promise<void> {
    const stored = name === undefined ? await this.storage.realms.list() : [await this.storage.realms.get(name)].filter((r): r is RealmRecord => r !== undefined);
    const storedNames = new Set(stored.map((r) => r.name));
    for (const record of stored) {
      if (this.#declared.has(record.name) || this.#runtime.get(record.name) === record.createdAt) continue;
      let realm: RealmConfig;
      try {
        realm = this.#buildRealm(record);
      } catch {
        continue; // settings that no longer resolve under this file (e.g. a lower top-level max_ttl): not served
      }
      // Keys are created by whoever created the realm; an instance loading it only creates one
      // when there is none at all (createFirst: one winner), e.g. after a crash in between.
      await this.#loadRealm(record, realm, this.#createsKeys);
    }
    for (const loaded of [...this.#runtime.keys()]) {
      if ((name === undefined || loaded === name) && !storedNames.has(loaded)) this.#dropRealm(loaded);
    }
  }

  readonly #clientScopes = new Map<string, Set<string>>();

  #refreshMetadata(realm: string): void {
    this.#metadata.set(realm, Object.freeze(buildMetadata(this.config.realms.get(realm)!, this.#clientScopes.get(realm) ?? [])));
  }

  #addClientScopes(realm: string, scopes: readonly string[]): void {
    let set = this.#clientScopes.get(realm);
    if (!set) this.#clientScopes.set(realm, (set = new Set()));
    const before = set.size;
    for (const s of scopes) set.add(s);
    if (set.size !== before) this.#refreshMetadata(realm);
  }

  /** Reads every client's scopes once (start-up), for scopes_supported. */
  async #loadClientScopes(): Promise<void> {
    for (const realm of this.config.realms.keys()) {
      let after: string | undefined;
      for (;;) {
        const page = await this.storage.clients.list(realm, { limit: 1000, ...(after !== undefined ? { after } : {}) });
        for (const c of page) this.#addClientScopes(realm, c.scopes);
        if (page.length < 1000) break;
        after = page[page.length - 1]!.clientId;
      }
    }
  }

  /** Migrates storage, loads (or creates) signing keys and upserts the clients the config declares. */
  static async create(opts: ServerOptions): Promise<AuthorizationServer> {
    const server = new AuthorizationServer(opts);
    await opts.storage.migrate();
    await server.keys.init({ create: opts.bootstrap !== false });
    // Runtime realms (created through the admin API on any instance) are served from the start.
    await server.#queueRealmSync();
    await server.#loadClientScopes();
    // Dummy keys for equal-cost refusals of unknown clients, made once, off the request path.
    if (opts.serves !== false) void warmDummyKeys().catch(() => undefined);
    if (opts.bootstrap !== false) {
      server.#stopKeyRefresh = server.keys.startRefresh(KEY_REFRESH_MS);
      // Applies only what the file changed since the last start; never undoes an operator's action.
      await server.admin.syncDeclaredClients();
      server.#startScheduledRotation();
    }
    return server;
  }

  realm(name: string): RealmConfig | undefined {
    return this.config.realms.get(name);
  }

  // ---- OAuth endpoints -------------------------------------------------------------------

  /** POST /oauth2/token, as a list of steps (RFC 6749 §3.2, §4.4). */
  async token(req: EndpointRequest): Promise<TokenResponse> {
    try {
      return await this.#token(req);
    } catch (err) {
      this.#recordFailure('token', req, err);
      throw err;
    }
  }

  async #token(req: EndpointRequest): Promise<TokenResponse> {
    const { single, lists } = normaliseParams(req.params, TOKEN_PARAMS, ['resource']);
    const authenticated = await this.#authenticate(req, single);
    const grantType = single.get('grant_type');
    if (grantType === undefined) throw new InvalidRequestError('grant_type is required').because('grant_type_missing');
    if (grantType !== clientCredentials.grantType) throw new UnsupportedGrantTypeError(`grant_type ${quoteSafe(grantType)} is not supported`).because('grant_type_unsupported', { got: grantType.slice(0, 100) });
    const issued = await clientCredentials.handleClientCredentials(
      { realm: req.realm, client: authenticated.client, scope: single.get('scope'), resources: lists.get('resource') },
      this.#grantDeps,
    );
    this.#observer?.tokenIssued(req.realm.name, authenticated.client.record.tokenEndpointAuthMethod, authenticated.client.record.clientId);
    this.activity.issued(req.realm.name, authenticated.client.record.clientId);
    return issued;
  }

  /** POST /oauth2/introspect (RFC 7662). */
  async introspect(req: EndpointRequest): Promise<IntrospectionResponse> {
    try {
      return await this.#introspect(req);
    } catch (err) {
      this.#recordFailure('introspect', req, err);
      throw err;
    }
  }

  async #introspect(req: EndpointRequest): Promise<IntrospectionResponse> {
    const { single } = normaliseParams(req.params, TOKEN_INPUT_PARAMS);
    const caller = await this.#authenticate(req, single);
    const token = single.get('token');
    if (token === undefined) throw new InvalidRequestError('token is required').because('token_missing');
    return introspect(req.realm, caller.client, token, this.#introspectDeps);
  }

  /** POST /oauth2/revoke (RFC 7009). */
  async revoke(req: EndpointRequest): Promise<void> {
    try {
      return await this.#revoke(req);
    } catch (err) {
      this.#recordFailure('revoke', req, err);
      throw err;
    }
  }

  /** Counts a refused request (an OAuthError) for the failure record: in memory, written later in a batch. */
  #recordFailure(endpoint: 'token' | 'introspect' | 'revoke', req: EndpointRequest, err: unknown): void {
    if (!(err instanceof OAuthError)) return;
    const claimed = claimedIdentity(req.params, req.authorization);
    // A client id that names no client counts in the realm's total only: invented ids get no series.
    this.activity.failed(req.realm.name, err.reason === 'client_unknown' ? null : claimed.clientId);
    this.failures.record({
      realm: req.realm.name,
      clientId: claimed.clientId,
      endpoint,
      method: claimed.method,
      source: req.source ?? null,
      error: err.error,
      reason: err.reason ?? ('unspecified' satisfies ReasonCode),
      facts: (err.facts as Record<string, unknown> | undefined) ?? {},
      at: this.clock.now(),
    });
  }

  /** Security events among flushed failures (replayed assertions, throttling) go to the audit trail, aggregated. */
  async #auditSecurityFailures(batch: import('./ports/index.ts').AuthFailureRecord[]): Promise<void> {
    const events = batch
      .filter((f) => SECURITY_REASONS.has(f.reason))
      .map((f) => ({
        at: f.lastSeen,
        type: `security.${f.reason}`,
        realm: f.realm,
        clientId: f.clientId,
        actor: { id: 'system', ...(f.source !== null ? { source: f.source } : {}) },
        data: { endpoint: f.endpoint, error: f.error, count: f.count, first_seen: f.firstSeen / 1000, last_seen: f.lastSeen / 1000, facts: f.facts },
      }));
    if (events.length > 0) await this.storage.audit.append(events, auditHash);
  }

  #startScheduledRotation(): void {
    if (![...this.config.realms.values()].some((r) => r.keys.rotateEverySeconds !== undefined)) return;
    this.#rotationTimer = setInterval(() => void this.runScheduledRotation().catch(() => undefined), ROTATION_CHECK_MS);
    this.#rotationTimer.unref();
  }

  /**
   * Rotates the keys of realms whose newest key is older than keys.rotate_every — once per
   * cluster: the instance holding the realm's lease does it. Resolves the realms rotated here.
   */
  async runScheduledRotation(): Promise<string[]> {
    const rotated = await this.keys.rotateDue((realm) => this.storage.leases.acquire(`key-rotation:${realm}`, this.instanceId, 5 * 60_000, this.clock.now()));
    for (const realm of rotated) {
      const newest = this.keys.describe(realm).at(-1);
      await this.admin.audit(SYSTEM_ACTOR, 'key.rotated', realm, null, { kid: newest?.kid, scheduled: true, instance: this.instanceId });
    }
    return rotated;
  }

  async #revoke(req: EndpointRequest): Promise<void> {
    const { single } = normaliseParams(req.params, TOKEN_INPUT_PARAMS);
    const caller = await this.#authenticate(req, single);
    const token = single.get('token');
    if (token === undefined) throw new InvalidRequestError('token is required').because('token_missing');
    await revoke(req.realm, caller.client, token, {
      keys: this.keys,
      revocations: this.storage.revocations,
      clock: this.clock,
      onRevoked: (jti) => this.#reuse.forgetJti(jti),
    });
  }

  /**
   * Seals a short-lived value the browser carries for the server (AES-256-GCM under the KEK, bound
   * to `purpose`): any instance of the cluster can open it, nobody else can read or alter it.
   */
  seal(purpose: string, value: string): string {
    return this.#kek.encrypt(Buffer.from(value, 'utf8'), `tessera seal:${purpose}`);
  }

  /** Opens what seal() made for the same purpose; undefined when altered, foreign or malformed. */
  unseal(purpose: string, sealed: string): string | undefined {
    try {
      return this.#kek.decrypt(sealed, `tessera seal:${purpose}`).toString('utf8');
    } catch {
      return undefined;
    }
  }

  jwks(realm: string): JwkSet {
    return this.keys.jwks(realm);
  }

  metadata(realm: string): AuthorizationServerMetadata | undefined {
    return this.#metadata.get(realm);
  }

  #authenticate(req: EndpointRequest, single: Map<string, string>): Promise<AuthenticatedClient> {
    return authenticateClient({ realm: req.realm, params: single, authorization: req.authorization, source: req.source }, this.#auth);
  }

  // ---- Administration (CLI, admin API, config bootstrap) ---------------------------------

  #realmOrThrow(name: string): RealmConfig {
    const realm = this.config.realms.get(name);
    if (!realm) throw new AdminError('not_found', `unknown realm ${name}`);
    return realm;
  }

  static parseClientMetadata(input: unknown): ClientMetadataInput {
    const parsed = clientMetadataSchema.safeParse(input);
    if (!parsed.success) throw new AdminError('invalid_metadata', formatIssues(parsed.error.issues));
    return parsed.data;
  }

  async #changed(realm: string, clientId: string): Promise<void> {
    this.clients.invalidate(realm, clientId);
    await this.storage.changes.publish({ realm, kind: 'client', id: clientId });
  }

  /** Registers a new client; a taken client_id is a conflict. (Facade of admin.createClient, which checks the scope catalogue.) */
  async createClient(realmName: string, input: ClientMetadataInput, actor: Actor = LOCAL_ACTOR): Promise<ClientWriteResult> {
    const created = await this.admin.createClient(actor, realmName, input);
    return created.client_secret === undefined ? { client: created.client } : { client: created.client, client_secret: created.client_secret };
  }

  /**
   * Creates or replaces a client (import tools). A secret given in clear that matches the stored
   * hash keeps the hash, so repeated runs don't re-hash; no secret keeps the stored one. The
   * server's start-up uses admin.syncDeclaredClients instead, which never undoes runtime state.
   */
  async upsertClient(realmName: string, input: ClientMetadataInput): Promise<ClientWriteResult> {
    const realm = this.#realmOrThrow(realmName);
    const existing = await this.storage.clients.get(realm.name, input.client_id);
    let effective = input;
    if (existing && input.client_secret !== undefined && (await this.#auth.secrets.verify(existing.secretHash, input.client_secret))) {
      const { client_secret: _same, ...rest } = input;
      effective = rest;
    }
    const built = await buildClientRecord(realm.name, effective, { kek: this.#kek, now: this.clock.now(), maxTtlSeconds: realm.tokens.maxTtlSeconds, scopeCatalogue: realm.scopes.map((x) => x.name), ...(existing ? { existing } : {}) });
    if (existing) {
      built.record.updatedAt = Math.max(built.record.updatedAt, existing.updatedAt + 1);
      if (existing.notBefore !== undefined) built.record.notBefore = existing.notBefore;
    }
    await this.storage.clients.put(built.record);
    await this.#changed(realm.name, built.record.clientId);
    this.#addClientScopes(realm.name, built.record.scopes);
    return built.generatedSecret === undefined ? { client: toClientMetadata(built.record) } : { client: toClientMetadata(built.record), client_secret: built.generatedSecret };
  }

  async getClient(realmName: string, clientId: string): Promise<Record<string, unknown>> {
    return (await this.admin.getClient(LOCAL_ACTOR, realmName, clientId)).client;
  }

  async listClients(realmName: string, options: { after?: string; limit?: number } = {}): Promise<Record<string, unknown>[]> {
    const realm = this.#realmOrThrow(realmName);
    return (await this.storage.clients.list(realm.name, options)).map(toClientMetadata);
  }

  async setClientDisabled(realmName: string, clientId: string, disabled: boolean, opts: { revokeTokens?: boolean; actor?: Actor } = {}): Promise<Record<string, unknown>> {
    return (await this.admin.setClientDisabled(opts.actor ?? LOCAL_ACTOR, realmName, clientId, disabled, { revokeTokens: opts.revokeTokens })).client;
  }

  /** Deletes a client; its tokens stay inactive even if the id is registered again. */
  async deleteClient(realmName: string, clientId: string, actor: Actor = LOCAL_ACTOR): Promise<void> {
    await this.admin.deleteClient(actor, realmName, clientId);
  }

  /**
   * Issues a new generated secret. The previous one keeps working for `graceSeconds` (default 0
   * here: at once, as before; the admin operation defaults to 24 h).
   */
  async rotateClientSecret(realmName: string, clientId: string, opts: { graceSeconds?: number; revokeTokens?: boolean; actor?: Actor } = {}): Promise<ClientWriteResult & { client_secret: string; previous_secret_expires_at?: number }> {
    const r = await this.admin.rotateClientSecret(opts.actor ?? LOCAL_ACTOR, realmName, clientId, { graceSeconds: opts.graceSeconds ?? 0, revokeTokens: opts.revokeTokens });
    return { client: r.client, client_secret: r.client_secret, ...(r.previous_secret_expires_at !== undefined ? { previous_secret_expires_at: r.previous_secret_expires_at } : {}) };
  }

  async rotateKeys(realmName: string, opts: { immediate?: boolean; actor?: Actor } = {}): Promise<{ kid: string; activatesAt: number }> {
    const view = await this.admin.rotateKeys(opts.actor ?? LOCAL_ACTOR, realmName, { immediate: opts.immediate === true });
    // The admin view has whole seconds; this facade has always answered the exact instant (ms).
    const exact = this.keys.describe(realmName).find((k) => k.kid === view.kid)?.activatesAt;
    return { kid: view.kid, activatesAt: exact ?? view.activates_at * 1000 };
  }

  /**
   * Withdraws a signing key at once (compromise): no longer published, no longer used. Refused when
   * it would leave the realm unable to sign, unless `promoteSuccessor` activates the successor now.
   */
  async revokeKey(realmName: string, kid: string, opts: { promoteSuccessor?: boolean; actor?: Actor } = {}): Promise<void> {
    await this.admin.revokeKey(opts.actor ?? LOCAL_ACTOR, realmName, kid, { promoteSuccessor: opts.promoteSuccessor });
  }

  async listKeys(realmName: string) {
    const realm = this.#realmOrThrow(realmName);
    await this.keys.reload(realm.name);
    return this.keys.describe(realm.name);
  }

  /** Clients, keys and live revocations of the given realms (all when none given). */
  async exportData(opts: { realms?: string[]; includeSecrets?: boolean } = {}): Promise<ExportDocument> {
    const realms = opts.realms?.length ? opts.realms.map((r) => this.#realmOrThrow(r).name) : [...this.config.realms.keys()];
    return exportState(this.storage, this.#kek, realms, opts.includeSecrets ?? false, this.clock.now());
  }

  async importData(doc: unknown): Promise<ImportSummary[]> {
    const summary = await importState(this.storage, this.#kek, doc, new Set(this.config.realms.keys()));
    this.clients.clear();
    for (const s of summary) await this.keys.reload(s.realm);
    return summary;
  }

  /** Stops background work (the periodic key reload). Storage is the caller's to close. */
  close(): void {
    this.#stopKeyRefresh?.();
    clearInterval(this.#rotationTimer);
    clearInterval(this.#activityTimer);
    void this.failures.close();
    void this.activity.flush();
  }

  /** Resolves when storage answers and every realm can sign (readiness). */
  async ready(): Promise<void> {
    await this.storage.ping();
    const cannotSign = this.keys.realmsWithoutSigningKey();
    if (cannotSign.length > 0) throw new Error(`realm ${cannotSign.join(', ')} has no signing key that can sign`);
  }

  /** Removes expired revocations, replay entries and console sessions (past the absolute or the idle timeout). */
  async purgeExpired(): Promise<void> {
    const now = this.clock.now();
    await this.storage.revocations.purgeExpired(now);
    await this.storage.replay.purgeExpired(now);
    await this.storage.consoleSessions.purgeExpired(now, now - this.config.console.idleTimeoutSeconds * 1000);
    await this.storage.activity.purge(Math.floor(now / 60_000) - ACTIVITY_MINUTES);
    await this.admin.pruneAudit(SYSTEM_ACTOR, this.config.audit.retentionDays);
  }
}

export function createAuthorizationServer(opts: ServerOptions): Promise<AuthorizationServer> {
  return AuthorizationServer.create(opts);
}
