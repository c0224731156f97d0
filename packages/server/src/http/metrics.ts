/**
 * Prometheus metrics (prom-client), in a registry of their own: tokens issued, refused requests by
 * private reason code, request durations per endpoint, jwks_uri fetches, storage / Redis errors,
 * replay-store writes, signing-key age, and the process metrics of prom-client (event-loop lag,
 * CPU, memory, GC). Per-client labels only when `metrics.per_client` is on (cardinality).
 *
 * The hot path does a Map lookup and an increment per request; label sets are cached children.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OAuthError, StorageUnavailableError } from '../core/errors/index.ts';
import type { ReplayStore, Storage } from '../core/ports/index.ts';
import type { AuthorizationServer, ServerObserver } from '../core/server.ts';
import { DEFAULT_REALM } from '../core/config/index.ts';

const OAUTH_ENDPOINT = /\/oauth2\/(token|introspect|revoke)$/;

export class Metrics {
  readonly registry = new Registry();
  readonly perClient: boolean;
  readonly #tokens: Counter;
  readonly #failures: Counter;
  readonly #duration: Histogram;
  readonly #jwksFetches: Counter;
  readonly #jwksSeconds: Histogram;
  readonly #storageErrors: Counter;
  readonly #replayWrites: Counter;
  readonly #durationChildren = new Map<string, { observe(v: number): void }>();
  #server: AuthorizationServer | undefined;
  #storageKind = 'unknown';

  constructor(opts: { perClient?: boolean; defaultMetrics?: boolean } = {}) {
    this.perClient = opts.perClient ?? false;
    const registers = [this.registry];
    const clientLabel = this.perClient ? ['client_id'] : [];
    this.#tokens = new Counter({ name: 'tessera_tokens_issued_total', help: 'Access tokens issued', labelNames: ['realm', 'method', ...clientLabel], registers });
    this.#failures = new Counter({
      name: 'tessera_request_failures_total',
      help: 'Refused token, introspection and revocation requests, by OAuth error and private reason code',
      // No client label here even with per_client: a refused request's client id is only claimed, and
      // an attacker could mint unbounded label values with it.
      labelNames: ['realm', 'endpoint', 'error', 'reason'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'tessera_http_request_duration_seconds',
      help: 'Request duration per endpoint (route pattern)',
      labelNames: ['method', 'endpoint', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.#jwksFetches = new Counter({ name: 'tessera_jwks_uri_fetches_total', help: 'Fetches of client jwks_uri documents', labelNames: ['outcome'], registers });
    this.#jwksSeconds = new Histogram({ name: 'tessera_jwks_uri_fetch_duration_seconds', help: 'Duration of client jwks_uri fetches', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers });
    this.#storageErrors = new Counter({ name: 'tessera_storage_errors_total', help: 'Requests that failed because storage or Redis was unavailable', labelNames: ['backend'], registers });
    this.#replayWrites = new Counter({ name: 'tessera_replay_store_writes_total', help: 'Client-assertion jti records written to the replay store', labelNames: ['outcome'], registers });
    const metrics = this;
    new Gauge({
      name: 'tessera_signing_key_age_seconds',
      help: 'Age of the active signing key of each realm',
      labelNames: ['realm', 'kid'],
      registers,
      collect() {
        this.reset();
        const server = metrics.#server;
        if (!server) return;
        const now = server.clock.now();
        for (const realm of server.config.realms.keys()) {
          const active = server.keys.describe(realm).find((k) => k.state === 'active');
          if (active) this.set({ realm, kid: active.kid }, Math.max(0, (now - active.activatesAt) / 1000));
        }
      },
    });
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: '' });
  }

  /** The observer the core tells of issued tokens and jwks_uri fetches. */
  readonly observer: ServerObserver = {
    tokenIssued: (realm, method, clientId) => {
      if (this.perClient) this.#tokens.inc({ realm, method, client_id: clientId });
      else this.#tokens.inc({ realm, method });
    },
    jwksFetched: (ok, seconds) => {
      this.#jwksFetches.inc({ outcome: ok ? 'ok' : 'failed' });
      this.#jwksSeconds.observe(seconds);
    },
  };

  /** For the signing-key gauge. */
  bind(server: AuthorizationServer): void {
    this.#server = server;
  }

  /** Counts replay-store writes; returns storage with its replay store wrapped (nothing else changes). */
  instrumentStorage(storage: Storage): Storage {
    this.#storageKind = storage.kind;
    const replay = storage.replay;
    const writes = this.#replayWrites;
    const wrapped: ReplayStore = {
      async consume(realm, clientId, jti, expiresAt) {
        try {
          const first = await replay.consume(realm, clientId, jti, expiresAt);
          writes.inc({ outcome: first ? 'stored' : 'replayed' });
          return first;
        } catch (err) {
          writes.inc({ outcome: 'error' });
          throw err;
        }
      },
      purgeExpired: (now) => replay.purgeExpired(now),
    };
    return new Proxy(storage, {
      get(target, prop) {
        if (prop === 'replay') return wrapped;
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  /** Adds the request hooks to an app (durations, failures, storage errors). */
  instrument(app: FastifyInstance): void {
    app.addHook('onResponse', async (request, reply) => {
      const endpoint = request.routeOptions.url ?? 'unmatched';
      const status = reply.statusCode;
      const key = `${request.method} ${endpoint} ${status}`;
      let child = this.#durationChildren.get(key);
      if (!child) {
        if (this.#durationChildren.size > 2000) this.#durationChildren.clear();
        child = this.#duration.labels(request.method, endpoint, String(status));
        this.#durationChildren.set(key, child);
      }
      child.observe(reply.elapsedTime / 1000);
    });
    app.addHook('onError', async (request, _reply, error) => this.#failed(request, error));
  }

  #failed(request: FastifyRequest, error: unknown): void {
    if (error instanceof StorageUnavailableError) this.#storageErrors.inc({ backend: /redis/i.test(error.message) ? 'redis' : this.#storageKind });
    const url = request.routeOptions.url;
    const m = url ? OAUTH_ENDPOINT.exec(url) : null;
    if (!m) return;
    const named = (request.params as { realm?: string } | undefined)?.realm;
    // The path names the realm; only known ones become label values.
    const realm = named === undefined ? DEFAULT_REALM : this.#server?.realm(named) ? named : 'unknown';
    const oauth = error instanceof OAuthError ? error : undefined;
    const labels: Record<string, string> = {
      realm,
      endpoint: m[1]!,
      error: oauth?.error ?? (error instanceof StorageUnavailableError ? 'temporarily_unavailable' : 'invalid_request'),
      reason: oauth?.reason ?? (error instanceof StorageUnavailableError ? 'storage_unavailable' : oauth ? 'unspecified' : 'malformed_request'),
    };
    this.#failures.inc(labels);
  }
}
