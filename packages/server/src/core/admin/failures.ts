/**
 * Recorded authentication failures (issue 9 §5). The request path only counts into an in-memory
 * map (O(1), no I/O); a timer flushes the aggregates to storage in one batch, so the token endpoint
 * never waits on it. Repeats aggregate (count, first/last seen); an attacker cannot flood storage:
 * at most `maxAggregates` distinct aggregates are kept between flushes (the rest only counted as
 * dropped, itself recorded as one aggregate), and storage keeps a bounded number per client and per
 * realm, newest first.
 */
import type { AuthFailureRecord, FailureStore } from '../ports/index.ts';

export interface FailureLimits {
  /** Aggregates kept in storage per (realm, client). */
  perClient: number;
  /** Aggregates kept in storage per realm. */
  perRealm: number;
  /** Distinct aggregates buffered between two flushes (the write-rate cap). */
  maxAggregates: number;
  /** Flush interval (ms). */
  flushMs: number;
}

export const DEFAULT_FAILURE_LIMITS: FailureLimits = { perClient: 50, perRealm: 1000, maxAggregates: 500, flushMs: 1000 };

export interface FailureInput {
  realm: string;
  clientId: string | null;
  endpoint: 'token' | 'introspect' | 'revoke';
  method: string | null;
  source: string | null;
  error: string;
  reason: string;
  facts: Record<string, unknown>;
  at: number;
}

/** One line per reason code: what a client developer should check (fallback table; see docs/errors.md). */
const HINTS: Record<string, string> = {
  unspecified: 'See the error_description returned to the client and the server log.',
  unknown_client: 'The client_id is not registered in this realm: check the id and the realm (issuer) the client uses.',
  secret_mismatch: 'The client secret is wrong: check for a rotated secret, stray whitespace or the wrong environment.',
  client_disabled: 'The client is disabled by an operator: ask them to enable it.',
  method_mismatch: 'The client authenticated with another method than the one it is registered for (token_endpoint_auth_method).',
  assertion_expired: 'The client assertion has expired: check the client machine clock and the assertion lifetime (exp).',
  aud_mismatch: 'The assertion aud must be the issuer or the token endpoint URL of this realm.',
  kid_not_found: 'No registered key has the kid in the assertion header: upload the new public key or update the jwks_uri.',
  jwks_uri_fetch_failed: 'The server could not fetch the client jwks_uri: check that it is reachable, https and returns a JWK Set.',
  jti_replayed: 'The assertion jti was already used: create a new assertion (fresh jti) for every request.',
  signature_invalid: 'The assertion signature does not verify: the client signs with a key that is not registered, or the wrong alg.',
  no_default_scope: 'The request named no scope and the client has no default scope: send scope=… or register default scopes.',
  scope_malformed: 'The scope parameter must be a space-separated list of scope tokens.',
  scope_empty: 'The scope parameter is empty: name at least one scope or leave it out.',
  scope_not_allowed: 'The requested scope is not among the scopes registered for the client.',
  throttled: 'Too many failed attempts from this address for this client: wait for the window to end and fix the credentials.',
  grant_not_allowed: 'The client is not allowed to use this grant type.',
  resource_not_allowed: 'The requested resource (audience) is not in the client allowed_resources.',
  not_introspector: 'The client is not allowed to call the introspection endpoint (may_introspect).',
  token_not_owned: 'A client may revoke only the tokens issued to it.',
  failures_dropped: 'More distinct failures arrived than the recorder keeps per interval: likely a flood; see the source addresses.',
};

export function failureHint(reason: string): string {
  return HINTS[reason] ?? `Reason ${reason}: see docs/errors.md.`;
}

/** Reason codes that are security events: also appended to the audit trail, aggregated. */
export const SECURITY_REASONS = new Set(['jti_replayed', 'throttled']);

export class FailureRecorder {
  readonly #store: FailureStore;
  readonly #limits: FailureLimits;
  #pending = new Map<string, AuthFailureRecord>();
  #dropped = new Map<string, AuthFailureRecord>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  /** Told each flushed batch (the server appends security events to the audit trail). */
  onFlushed: ((batch: AuthFailureRecord[]) => Promise<void>) | undefined;
  /** Told a flush failure (logged by the caller); the batch is lost, the request path never sees it. */
  onError: ((err: unknown) => void) | undefined;

  constructor(store: FailureStore, limits: Partial<FailureLimits> = {}) {
    this.#store = store;
    this.#limits = { ...DEFAULT_FAILURE_LIMITS, ...limits };
  }

  /** Counts one refusal. Synchronous and O(1): no I/O on the request path. */
  record(f: FailureInput): void {
    const key = JSON.stringify([f.realm, f.clientId, f.endpoint, f.source, f.error, f.reason]);
    const current = this.#pending.get(key);
    if (current) {
      current.count++;
      current.lastSeen = f.at;
      current.facts = f.facts;
      current.method = f.method;
    } else if (this.#pending.size < this.#limits.maxAggregates) {
      this.#pending.set(key, { realm: f.realm, clientId: f.clientId, endpoint: f.endpoint, method: f.method, source: f.source, error: f.error, reason: f.reason, facts: f.facts, count: 1, firstSeen: f.at, lastSeen: f.at });
    } else {
      // Over the cap: one aggregate per realm says how many were not kept.
      const d = this.#dropped.get(f.realm);
      if (d) {
        d.count++;
        d.lastSeen = f.at;
      } else {
        this.#dropped.set(f.realm, { realm: f.realm, clientId: null, endpoint: f.endpoint, method: null, source: null, error: 'various', reason: 'failures_dropped', facts: { cap_per_interval: this.#limits.maxAggregates }, count: 1, firstSeen: f.at, lastSeen: f.at });
      }
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.#limits.flushMs).unref();
  }

  /** Writes what is pending (one batch); resolves when written. Failures go to onError. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = [...this.#pending.values(), ...this.#dropped.values()];
    this.#pending = new Map();
    this.#dropped = new Map();
    const run = this.#flushing.then(async () => {
      if (batch.length === 0) return;
      try {
        await this.#store.record(batch, { perClient: this.#limits.perClient, perRealm: this.#limits.perRealm });
        await this.onFlushed?.(batch);
      } catch (err) {
        this.onError?.(err);
      }
    });
    this.#flushing = run;
    return run;
  }

  /** Flushes and stops the timer. */
  async close(): Promise<void> {
    await this.flush();
  }
}
