/**
 * Prometheus metrics (prom-client), in a registry of their own: tokens issued, refused requests by
 * private reason code, request durations per endpoint, jwks_uri fetches, storage / Redis errors,
 * replay-store writes, signing-key age, and the process metrics of prom-client (event-loop lag,
 * CPU, memory, GC). Per-client labels only when `metrics.per_client` is on (cardinality).
 *
 * The hot path does a few Map lookups and increments per request: the per-request counts and the
 * duration histogram keep plain numbers that the registry reads when scraped (LabelledCounts,
 * DurationHistogram), and the GC histogram is off unless asked for (collectProcessMetrics).
 */
import { createRequire } from 'node:module';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OAuthError, StorageUnavailableError } from '../core/errors/index.ts';
import type { ReplayStore, Storage } from '../core/ports/index.ts';
import type { AuthorizationServer, ServerObserver } from '../core/server.ts';
import { DEFAULT_REALM } from '../core/config/index.ts';

const OAUTH_ENDPOINT = /\/oauth2\/(token|introspect|revoke)$/;

type Collector = (registry: Registry, config: { prefix: string; eventLoopMonitoringPrecision: number }) => void;
const requireCjs = createRequire(import.meta.url);

/**
 * prom-client's default metrics (CPU, memory, heap spaces, handles, event-loop lag, file
 * descriptors, version), without `nodejs_gc_duration_seconds` unless asked for. That one observes
 * every garbage collection through a PerformanceObserver, and the server runs with a small young
 * generation (--max-semi-space-size=2), so it collects hundreds of times a second under load: with
 * it, client_secret_basic lost 5-8 % of its tokens/s (bench/README.md, "Metrics overhead"). The
 * others are read when scraped. prom-client has no switch per default
 * metric, so they are registered one by one from its metric modules (whose names it lists); if that
 * layout ever changes, all of them are collected as collectDefaultMetrics does.
 */
function collectProcessMetrics(registry: Registry, opts: { gcDurations: boolean }): void {
  const names = (collectDefaultMetrics as unknown as { metricsList: string[] }).metricsList.filter((name) => opts.gcDurations || name !== 'gc');
  let collectors: Collector[];
  try {
    collectors = names.map((name) => requireCjs(`prom-client/lib/metrics/${name}`) as Collector);
  } catch {
    collectDefaultMetrics({ register: registry, prefix: '' });
    return;
  }
  for (const collect of collectors) collect(registry, { prefix: '', eventLoopMonitoringPrecision: 10 });
}

/**
 * Counts kept as plain numbers under nested maps of label values, handed to a prom-client Counter
 * when scraped (its collect hook). prom-client hashes the label set into a string on every inc;
 * under callgrind that and the matching string work cost the token endpoint about 2,000
 * instructions per call, so the per-request counts do not go through it.
 */
class LabelledCounts {
  readonly #root = new Map<string, CountNode>();
  readonly #rows: CountRow[] = [];
  readonly #names: readonly string[];

  constructor(names: readonly string[]) {
    this.#names = names;
  }

  /** Adds one for these label values (in the order of the names). */
  inc(...values: string[]): void {
    let map = this.#root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = map.get(values[i]!) as Map<string, CountNode> | undefined;
      if (!next) map.set(values[i]!, (next = new Map()));
      map = next;
    }
    let row = map.get(values[last]!) as CountRow | undefined;
    if (!row) {
      row = { labels: Object.fromEntries(this.#names.map((name, i) => [name, values[i]!])), count: 0 };
      this.#rows.push(row);
      map.set(values[last]!, row);
    }
    row.count++;
  }

  /** Sets the counter to the totals (from its collect hook: when scraped). */
  copyTo(counter: Counter): void {
    counter.reset();
    for (const row of this.#rows) counter.inc(row.labels, row.count);
  }
}
interface CountRow {
  labels: Record<string, string>;
  count: number;
}
type CountNode = Map<string, CountNode> | CountRow;

/** One series of the duration histogram: counts per bucket (not cumulative), sum and count. */
interface DurationSeries {
  labels: Record<string, string>;
  counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * tessera_http_request_duration_seconds: a Prometheus histogram whose observation is a bucket
 * search and three additions, registered in the registry as prom-client's own metrics are (the
 * object shape its registry reads: name, help, type, get(), reset()). prom-client's Histogram
 * hashes the label set into a string on every observation (see LabelledCounts).
 */
export class DurationHistogram {
  readonly name = 'tessera_http_request_duration_seconds';
  readonly help = 'Request duration per endpoint (route pattern)';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** At most this many series; later label sets share one with endpoint="other". */
  static readonly MAX_SERIES = 2000;
  readonly #bounds: readonly number[];
  /** endpoint → method → status → series. */
  readonly #index = new Map<string, Map<string, Map<number, DurationSeries>>>();
  readonly #all: DurationSeries[] = [];
  #overflow: DurationSeries | undefined;

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
  }

  observe(method: string, endpoint: string, status: number, seconds: number): void {
    const series = this.#index.get(endpoint)?.get(method)?.get(status) ?? this.#add(method, endpoint, status);
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    series.counts[i]!++;
    series.sum += seconds;
    series.count++;
  }

  #add(method: string, endpoint: string, status: number): DurationSeries {
    const make = (labels: Record<string, string>): DurationSeries => {
      const series = { labels, counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
      this.#all.push(series);
      return series;
    };
    if (this.#all.length >= DurationHistogram.MAX_SERIES) return (this.#overflow ??= make({ method: 'other', endpoint: 'other', status: 'other' }));
    let byMethod = this.#index.get(endpoint);
    if (!byMethod) this.#index.set(endpoint, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    const series = make({ method, endpoint, status: String(status) });
    byStatus.set(status, series);
    return series;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> } {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const s of this.#all) {
      let cumulative = 0;
      for (const [i, bound] of this.#bounds.entries()) {
        cumulative += s.counts[i]!;
        values.push({ labels: { le: bound, ...s.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.#index.clear();
    this.#all.length = 0;
    this.#overflow = undefined;
  }
}

export class Metrics {
  readonly registry = new Registry();
  readonly perClient: boolean;
  readonly #tokens: LabelledCounts;
  readonly #failures: Counter;
  readonly #duration: DurationHistogram;
  readonly #jwksFetches: Counter;
  readonly #jwksSeconds: Histogram;
  readonly #storageErrors: Counter;
  readonly #replayWrites: LabelledCounts;
  #server: AuthorizationServer | undefined;
  #storageKind = 'unknown';

  constructor(opts: { perClient?: boolean; defaultMetrics?: boolean; gcDurations?: boolean } = {}) {
    this.perClient = opts.perClient ?? false;
    const registers = [this.registry];
    const clientLabel = this.perClient ? ['client_id'] : [];
    const tokenLabels = ['realm', 'method', ...clientLabel];
    const tokens = (this.#tokens = new LabelledCounts(tokenLabels));
    new Counter({ name: 'tessera_tokens_issued_total', help: 'Access tokens issued', labelNames: tokenLabels, registers, collect() { tokens.copyTo(this); } });
    this.#failures = new Counter({
      name: 'tessera_request_failures_total',
      help: 'Refused token, introspection and revocation requests, by OAuth error and private reason code',
      // No client label here even with per_client: a refused request's client id is only claimed, and
      // an attacker could mint unbounded label values with it.
      labelNames: ['realm', 'endpoint', 'error', 'reason'],
      registers,
    });
    this.#duration = new DurationHistogram([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);
    this.registry.registerMetric(this.#duration as unknown as Parameters<Registry['registerMetric']>[0]);
    this.#jwksFetches = new Counter({ name: 'tessera_jwks_uri_fetches_total', help: 'Fetches of client jwks_uri documents', labelNames: ['outcome'], registers });
    this.#jwksSeconds = new Histogram({ name: 'tessera_jwks_uri_fetch_duration_seconds', help: 'Duration of client jwks_uri fetches', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers });
    this.#storageErrors = new Counter({ name: 'tessera_storage_errors_total', help: 'Requests that failed because storage or Redis was unavailable', labelNames: ['backend'], registers });
    const replayWrites = (this.#replayWrites = new LabelledCounts(['outcome']));
    new Counter({ name: 'tessera_replay_store_writes_total', help: 'Client-assertion jti records written to the replay store', labelNames: ['outcome'], registers, collect() { replayWrites.copyTo(this); } });
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
    if (opts.defaultMetrics !== false) collectProcessMetrics(this.registry, { gcDurations: opts.gcDurations ?? false });
  }

  /** The observer the core tells of issued tokens and jwks_uri fetches. */
  readonly observer: ServerObserver = {
    tokenIssued: (realm, method, clientId) => {
      if (this.perClient) this.#tokens.inc(realm, method, clientId);
      else this.#tokens.inc(realm, method);
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
          writes.inc(first ? 'stored' : 'replayed');
          return first;
        } catch (err) {
          writes.inc('error');
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
    // A callback hook, not an async one: no promise per request.
    app.addHook('onResponse', (request, reply, done) => {
      this.#duration.observe(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
      done();
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
