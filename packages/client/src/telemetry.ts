/**
 * OpenTelemetry, when `@opentelemetry/api` is installed: it is loaded once with a dynamic
 * `import()` (an optional peer dependency, never required) and used through the small structural
 * types below, so neither this package's code nor its published types need it.
 * Spans: `tessera.client.token` per token request (after retries) and `tessera.client.discovery`.
 * Metrics: `tessera.client.token.requests` (counter, by outcome and background),
 * `tessera.client.token.duration` (histogram, seconds) and `tessera.client.token.cache`
 * (counter of getToken calls by result: hit, stale, miss).
 */

type Attributes = Record<string, string | number | boolean>;

interface SpanLike {
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: Error | string): unknown;
  end(): void;
}

interface OtelApiLike {
  trace: { getTracer(name: string, version?: string): { startSpan(name: string, options?: { kind?: number; attributes?: Attributes }): SpanLike } };
  metrics: {
    getMeter(name: string, version?: string): {
      createCounter(name: string, options?: { description?: string; unit?: string }): { add(value: number, attributes?: Attributes): void };
      createHistogram(name: string, options?: { description?: string; unit?: string }): { record(value: number, attributes?: Attributes): void };
    };
  };
}

const SCOPE_NAME = '@tessera-auth/client';
const SPAN_KIND_CLIENT = 2;
const STATUS_ERROR = 2;

let loading: Promise<OtelApiLike | undefined> | undefined;
let api: OtelApiLike | undefined;
let settled = false;

/** Starts loading `@opentelemetry/api` (once per process); resolves to it, or undefined when absent. */
export function loadOpenTelemetry(): Promise<OtelApiLike | undefined> {
  loading ??= (async () => {
    try {
      const module = (await import('@opentelemetry/api')) as unknown as OtelApiLike & { default?: OtelApiLike };
      const candidate = module.trace ? module : module.default;
      api = candidate && candidate.trace && candidate.metrics ? candidate : undefined;
    } catch {
      api = undefined;
    }
    settled = true;
    return api;
  })();
  return loading;
}

/** An operation being traced: ends with `ok()` or `fail(error)`. No-op without OpenTelemetry. */
export interface TracedOperation {
  set(key: string, value: string | number | boolean): void;
  ok(): void;
  fail(error: unknown): void;
}

const NOOP: TracedOperation = { set: () => undefined, ok: () => undefined, fail: () => undefined };

interface Instruments {
  tracer: ReturnType<OtelApiLike['trace']['getTracer']>;
  requests: { add(value: number, attributes?: Attributes): void };
  duration: { record(value: number, attributes?: Attributes): void };
  cache: { add(value: number, attributes?: Attributes): void };
}

/** Telemetry of one TokenClient; instruments are created lazily from the process-wide API. */
export class ClientTelemetry {
  readonly #enabled: boolean;
  #instruments: Instruments | undefined;
  /** Cache results counted while the API was still loading, recorded once it is there. */
  readonly #pending = new Map<string, number>();

  constructor(enabled: boolean) {
    this.#enabled = enabled;
    if (enabled) void loadOpenTelemetry();
  }

  /** Resolves once the optional API is loaded (or known to be absent). */
  async ready(): Promise<void> {
    if (!this.#enabled) return;
    await loadOpenTelemetry();
    this.#get(); // records what was counted while loading
    this.#pending.clear();
  }

  #get(): Instruments | undefined {
    if (!this.#enabled || api === undefined) return undefined;
    if (this.#instruments === undefined) {
      const meter = api.metrics.getMeter(SCOPE_NAME);
      this.#instruments = {
        tracer: api.trace.getTracer(SCOPE_NAME),
        requests: meter.createCounter('tessera.client.token.requests', { description: 'Token requests (after retries) by outcome' }),
        duration: meter.createHistogram('tessera.client.token.duration', { description: 'Duration of token requests, retries included', unit: 's' }),
        cache: meter.createCounter('tessera.client.token.cache', { description: 'getToken calls by cache result (hit, stale, miss)' }),
      };
      for (const [result, count] of this.#pending) this.#instruments.cache.add(count, { 'tessera.cache.result': result });
      this.#pending.clear();
    }
    return this.#instruments;
  }

  /** Counts one getToken call by cache result. */
  cacheResult(result: 'hit' | 'stale' | 'miss'): void {
    const instruments = this.#get();
    if (instruments !== undefined) instruments.cache.add(1, { 'tessera.cache.result': result });
    else if (this.#enabled && !settled) this.#pending.set(result, (this.#pending.get(result) ?? 0) + 1);
  }

  /** Starts a span named `name`; on end also records the token request metrics when `metered`. */
  start(name: string, attributes: Attributes, metered: boolean): TracedOperation {
    const instruments = this.#get();
    if (instruments === undefined) return NOOP;
    const span = instruments.tracer.startSpan(name, { kind: SPAN_KIND_CLIENT, attributes });
    const started = performance.now();
    const end = (outcome: 'success' | 'error'): void => {
      span.end();
      if (!metered) return;
      const metricAttributes = { 'tessera.outcome': outcome, 'tessera.background': attributes['tessera.background'] ?? false };
      instruments.requests.add(1, metricAttributes);
      instruments.duration.record((performance.now() - started) / 1000, metricAttributes);
    };
    return {
      set: (key, value) => void span.setAttribute(key, value),
      ok: () => end('success'),
      fail: (error) => {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: STATUS_ERROR, message: error instanceof Error ? error.message : String(error) });
        end('error');
      },
    };
  }
}
