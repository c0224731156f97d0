/**
 * createAuthorizationServer: the only place where the core is composed. The HTTP layer, the CLI and
 * tests talk to the core through this facade only.
 */
import type { AuthorizationServerMetadata, IntrospectionResponse, TokenResponse } from '../shared/oauth.ts';
import type { ResolvedConfig, RealmConfig, ClientMetadataInput } from './config/index.ts';
import { clientMetadataSchema, formatIssues } from './config/index.ts';
import { AdminError, InvalidRequestError, UnsupportedGrantTypeError, quoteSafe } from './errors/index.ts';
import type { Clock, JwkSet, RateLimiter, Storage } from './ports/index.ts';
import { AuthThrottle } from './client-auth/throttle.ts';
import { createMemoryRateLimiter } from './limits/memory-rate-limiter.ts';
import { systemClock } from './ports/index.ts';
import type { KeyEncryptionKey } from './crypto/kek.ts';
import { ClientRegistry } from './clients/registry.ts';
import { RemoteJwksCache } from './clients/remote-jwks.ts';
import { SecretVerifier, generateSecret } from './clients/secrets.ts';
import { applySecret, buildClientRecord, toClientMetadata } from './clients/metadata.ts';
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
  readonly #kek: KeyEncryptionKey;
  readonly #auth: AuthDeps;
  readonly #reuse = new TokenReuseCache();
  readonly #grantDeps: GrantDeps;
  readonly #introspectDeps: IntrospectDeps;
  readonly #metadata = new Map<string, AuthorizationServerMetadata>();
  #stopKeyRefresh: (() => void) | undefined;
  readonly #observer: ServerObserver | undefined;

  private constructor(opts: ServerOptions) {
    this.config = opts.config;
    this.storage = opts.storage;
    this.clock = opts.clock ?? systemClock;
    this.#kek = opts.kek;
    this.#observer = opts.observer;
    this.keys = new KeyManager({ store: opts.storage.keys, kek: opts.kek, clock: this.clock, realms: opts.config.realms, changes: opts.storage.changes });
    this.clients = new ClientRegistry({ store: opts.storage.clients, kek: opts.kek, clock: this.clock, ttlSeconds: opts.config.clientCacheSeconds, changes: opts.storage.changes });
    this.#auth = {
      clients: this.clients,
      secrets: new SecretVerifier(),
      remoteJwks: new RemoteJwksCache(opts.config.jwksFetch, this.clock, opts.observer && ((ok, s) => opts.observer!.jwksFetched(ok, s))),
      replay: opts.storage.replay,
      clock: this.clock,
      throttle: new AuthThrottle(opts.limiter ?? createMemoryRateLimiter({ clock: this.clock }), opts.config.throttle, this.clock),
    };
    this.#grantDeps = { keys: this.keys, clock: this.clock, reuse: this.#reuse, revocations: opts.storage.revocations };
    this.#introspectDeps = { keys: this.keys, clients: this.clients, revocations: opts.storage.revocations, clock: this.clock };
    for (const realm of opts.config.realms.values()) this.#metadata.set(realm.name, Object.freeze(buildMetadata(realm)));
  }

  /** Migrates storage, loads (or creates) signing keys and upserts the clients the config declares. */
  static async create(opts: ServerOptions): Promise<AuthorizationServer> {
    const server = new AuthorizationServer(opts);
    await opts.storage.migrate();
    await server.keys.init({ create: opts.bootstrap !== false });
    if (opts.bootstrap !== false) {
      server.#stopKeyRefresh = server.keys.startRefresh(KEY_REFRESH_MS);
      for (const realm of opts.config.realms.values()) {
        for (const c of realm.clients) await server.upsertClient(realm.name, c);
      }
    }
    return server;
  }

  realm(name: string): RealmConfig | undefined {
    return this.config.realms.get(name);
  }

  // ---- OAuth endpoints -------------------------------------------------------------------

  /** POST /oauth2/token, as a list of steps (RFC 6749 §3.2, §4.4). */
  async token(req: EndpointRequest): Promise<TokenResponse> {
    const { single, lists } = normaliseParams(req.params, TOKEN_PARAMS, ['resource']);
    const authenticated = await this.#authenticate(req, single);
    const grantType = single.get('grant_type');
    if (grantType === undefined) throw new InvalidRequestError('grant_type is required');
    if (grantType !== clientCredentials.grantType) throw new UnsupportedGrantTypeError(`grant_type ${quoteSafe(grantType)} is not supported`);
    const issued = await clientCredentials.handleClientCredentials(
      { realm: req.realm, client: authenticated.client, scope: single.get('scope'), resources: lists.get('resource') },
      this.#grantDeps,
    );
    this.#observer?.tokenIssued(req.realm.name, authenticated.client.record.tokenEndpointAuthMethod, authenticated.client.record.clientId);
    return issued;
  }

  /** POST /oauth2/introspect (RFC 7662). */
  async introspect(req: EndpointRequest): Promise<IntrospectionResponse> {
    const { single } = normaliseParams(req.params, TOKEN_INPUT_PARAMS);
    const caller = await this.#authenticate(req, single);
    const token = single.get('token');
    if (token === undefined) throw new InvalidRequestError('token is required');
    return introspect(req.realm, caller.client, token, this.#introspectDeps);
  }

  /** POST /oauth2/revoke (RFC 7009). */
  async revoke(req: EndpointRequest): Promise<void> {
    const { single } = normaliseParams(req.params, TOKEN_INPUT_PARAMS);
    const caller = await this.#authenticate(req, single);
    const token = single.get('token');
    if (token === undefined) throw new InvalidRequestError('token is required');
    await revoke(req.realm, caller.client, token, {
      keys: this.keys,
      revocations: this.storage.revocations,
      clock: this.clock,
      onRevoked: (jti) => this.#reuse.forgetJti(jti),
    });
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

  /** Registers a new client; a taken client_id is a conflict. */
  async createClient(realmName: string, input: ClientMetadataInput): Promise<ClientWriteResult> {
    const realm = this.#realmOrThrow(realmName);
    const built = await buildClientRecord(realm.name, input, { kek: this.#kek, now: this.clock.now(), maxTtlSeconds: realm.tokens.maxTtlSeconds });
    if (!(await this.storage.clients.create(built.record))) throw new AdminError('conflict', `client ${input.client_id} already exists in realm ${realm.name}`);
    await this.#changed(realm.name, built.record.clientId);
    return built.generatedSecret === undefined ? { client: toClientMetadata(built.record) } : { client: toClientMetadata(built.record), client_secret: built.generatedSecret };
  }

  /**
   * Creates or replaces a client (declarative bootstrap). A secret given in clear that matches the
   * stored hash keeps the hash, so restarts don't re-hash; no secret keeps the stored one.
   */
  async upsertClient(realmName: string, input: ClientMetadataInput): Promise<ClientWriteResult> {
    const realm = this.#realmOrThrow(realmName);
    const existing = await this.storage.clients.get(realm.name, input.client_id);
    let effective = input;
    if (existing && input.client_secret !== undefined && (await this.#auth.secrets.verify(existing.secretHash, input.client_secret))) {
      const { client_secret: _same, ...rest } = input;
      effective = rest;
    }
    const built = await buildClientRecord(realm.name, effective, { kek: this.#kek, now: this.clock.now(), maxTtlSeconds: realm.tokens.maxTtlSeconds, ...(existing ? { existing } : {}) });
    await this.storage.clients.put(built.record);
    await this.#changed(realm.name, built.record.clientId);
    return built.generatedSecret === undefined ? { client: toClientMetadata(built.record) } : { client: toClientMetadata(built.record), client_secret: built.generatedSecret };
  }

  async getClient(realmName: string, clientId: string): Promise<Record<string, unknown>> {
    const realm = this.#realmOrThrow(realmName);
    const record = await this.storage.clients.get(realm.name, clientId);
    if (!record) throw new AdminError('not_found', `no client ${clientId} in realm ${realm.name}`);
    return toClientMetadata(record);
  }

  async listClients(realmName: string, options: { after?: string; limit?: number } = {}): Promise<Record<string, unknown>[]> {
    const realm = this.#realmOrThrow(realmName);
    return (await this.storage.clients.list(realm.name, options)).map(toClientMetadata);
  }

  async setClientDisabled(realmName: string, clientId: string, disabled: boolean): Promise<Record<string, unknown>> {
    const realm = this.#realmOrThrow(realmName);
    const record = await this.storage.clients.get(realm.name, clientId);
    if (!record) throw new AdminError('not_found', `no client ${clientId} in realm ${realm.name}`);
    const updated = { ...record, disabled, updatedAt: this.clock.now() };
    await this.storage.clients.put(updated);
    await this.#changed(realm.name, clientId);
    return toClientMetadata(updated);
  }

  async deleteClient(realmName: string, clientId: string): Promise<void> {
    const realm = this.#realmOrThrow(realmName);
    if (!(await this.storage.clients.delete(realm.name, clientId))) throw new AdminError('not_found', `no client ${clientId} in realm ${realm.name}`);
    await this.#changed(realm.name, clientId);
  }

  /** Issues a new generated secret; the old one stops working at once. */
  async rotateClientSecret(realmName: string, clientId: string): Promise<ClientWriteResult & { client_secret: string }> {
    const realm = this.#realmOrThrow(realmName);
    const record = await this.storage.clients.get(realm.name, clientId);
    if (!record) throw new AdminError('not_found', `no client ${clientId} in realm ${realm.name}`);
    if (record.secretHash === undefined) throw new AdminError('invalid_metadata', `client ${clientId} authenticates with ${record.tokenEndpointAuthMethod} and has no secret`);
    const secret = generateSecret(record.tokenEndpointAuthMethod === 'client_secret_jwt' ? 64 : 32);
    const updated = { ...record, updatedAt: this.clock.now() };
    await applySecret(updated, secret, true, this.#kek);
    await this.storage.clients.put(updated);
    await this.#changed(realm.name, clientId);
    return { client: toClientMetadata(updated), client_secret: secret };
  }

  async rotateKeys(realmName: string, opts: { immediate?: boolean } = {}): Promise<{ kid: string; activatesAt: number }> {
    const realm = this.#realmOrThrow(realmName);
    return this.keys.rotate(realm.name, opts);
  }

  /** Withdraws a signing key at once (compromise): no longer published, no longer used. */
  async revokeKey(realmName: string, kid: string): Promise<void> {
    const realm = this.#realmOrThrow(realmName);
    if (!(await this.keys.revoke(realm.name, kid))) throw new AdminError('not_found', `no active key ${kid} in realm ${realm.name}`);
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
  }

  /** Resolves when storage answers (readiness). */
  async ready(): Promise<void> {
    await this.storage.ping();
  }

  /** Removes expired revocations and replay entries. */
  async purgeExpired(): Promise<void> {
    const now = this.clock.now();
    await this.storage.revocations.purgeExpired(now);
    await this.storage.replay.purgeExpired(now);
  }
}

export function createAuthorizationServer(opts: ServerOptions): Promise<AuthorizationServer> {
  return AuthorizationServer.create(opts);
}
