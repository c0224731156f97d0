/**
 * OpenTelemetry, when `@opentelemetry/api` is installed: one span per verification and two
 * instruments (a counter of outcomes, a histogram of durations). Loaded dynamically, so the package
 * has no dependency on it and bundles without it.
 */

/** The parts of `@opentelemetry/api` used here. */
interface OtelApi {
  trace: { getTracer(name: string, version?: string): OtelTracer };
  metrics: { getMeter(name: string, version?: string): OtelMeter };
  SpanStatusCode: { ERROR: number; OK: number };
}
interface OtelTracer {
  startSpan(name: string, options?: { attributes?: Record<string, string | number | boolean> }): OtelSpan;
}
interface OtelSpan {
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}
interface OtelMeter {
  createCounter(name: string, options?: { description?: string; unit?: string }): { add(value: number, attributes?: Record<string, string>): void };
  createHistogram(name: string, options?: { description?: string; unit?: string }): { record(value: number, attributes?: Record<string, string>): void };
}

const SCOPE = '@tessera-auth/resource-server';
/** In a variable so that bundlers leave the optional import alone. */
const OTEL_MODULE = '@opentelemetry/api';

let loading: Promise<OtelApi | undefined> | undefined;

/** Loads the API once; undefined when it is not installed. */
export function loadOtel(): Promise<OtelApi | undefined> {
  loading ??= (import(/* @vite-ignore */ /* webpackIgnore: true */ OTEL_MODULE) as Promise<OtelApi & { default?: OtelApi }>).then(
    (module) => (module.trace ? module : module.default),
    () => undefined,
  );
  return loading;
}

export interface VerifyOutcome {
  /** `success`, or the refusal: `invalid_request`, `invalid_token`, `insufficient_scope`, `no_token`, `unavailable`. */
  outcome: string;
  cached?: boolean;
  issuer?: string;
}

/** Records verifications; a no-op until (and unless) the API is loaded. */
export class Telemetry {
  #api: OtelApi | undefined;
  #tracer: OtelTracer | undefined;
  #counter: ReturnType<OtelMeter['createCounter']> | undefined;
  #duration: ReturnType<OtelMeter['createHistogram']> | undefined;
  /** Settles once the API is loaded or known absent. */
  readonly ready: Promise<void>;
  /** True once `ready` has settled. */
  settled = false;

  constructor(enabled: boolean) {
    this.ready = enabled
      ? loadOtel().then((api) => {
          if (!api) return;
          this.#api = api;
          this.#tracer = api.trace.getTracer(SCOPE);
          const meter = api.metrics.getMeter(SCOPE);
          this.#counter = meter.createCounter('tessera.rs.verifications', { description: 'Access token verifications by outcome' });
          this.#duration = meter.createHistogram('tessera.rs.verify.duration', { description: 'Access token verification time', unit: 'ms' });
        })
      : Promise.resolve();
    void this.ready.finally(() => {
      this.settled = true;
    });
  }

  /** Starts a verification; call the returned function once with its outcome. */
  start(): ((result: VerifyOutcome) => void) | undefined {
    if (!this.#api) return undefined;
    const started = performance.now();
    const span = this.#tracer!.startSpan('tessera.verify_access_token');
    return (result) => {
      const attributes: Record<string, string> = { 'tessera.outcome': result.outcome };
      if (result.issuer) attributes['tessera.issuer'] = result.issuer;
      span.setAttribute('tessera.outcome', result.outcome);
      if (result.issuer) span.setAttribute('tessera.issuer', result.issuer);
      if (result.cached !== undefined) span.setAttribute('tessera.cached', result.cached);
      span.setStatus(result.outcome === 'success' ? { code: this.#api!.SpanStatusCode.OK } : { code: this.#api!.SpanStatusCode.ERROR, message: result.outcome });
      span.end();
      this.#counter!.add(1, attributes);
      this.#duration!.record(performance.now() - started, attributes);
    };
  }
}
