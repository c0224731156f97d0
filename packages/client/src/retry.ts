/**
 * Retry of transient HTTP failures with exponential backoff, full-range jitter and `Retry-After`.
 * Only network failures (`TransportError` thrown by the attempt) and transient statuses are
 * retried; everything else is handed back to the caller on the first answer.
 */
import { TransportError } from './errors.ts';
import { abortableSleep, anySignal, raceSignal } from './signals.ts';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  /** Delay before the first retry; doubles each time. */
  baseDelayMs: number;
  /** Upper bound of a computed backoff delay. */
  maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the response is returned as is. */
  maxRetryAfterMs: number;
  /** Wait between attempts; raced against the operation's signal, so it need not watch it itself. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random: () => number;
  now: () => number;
}

export const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> => abortableSleep(ms, signal);

/** 408, 429 and 5xx other than 501 (not implemented) are worth another try. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501);
}

/** Delay before retry number `attempt + 1`: base·2^attempt capped, then scaled by a random factor in [0.5, 1). */
export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'random'>): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(exponential * (0.5 + policy.random() / 2));
}

/** Parses `Retry-After` (delta-seconds or HTTP-date, RFC 9110 §10.2.3) into milliseconds from now. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Runs `attempt` until it yields a non-transient response or retries run out. The last response
 * (possibly transient) is returned; the last `TransportError` is rethrown. When `signal` aborts,
 * waiting stops and its reason is thrown.
 */
export async function withRetry(attempt: () => Promise<Response>, policy: RetryPolicy, signal?: AbortSignal): Promise<Response> {
  const wait = (ms: number): Promise<void> => raceSignal(policy.sleep(ms, signal), signal);
  for (let n = 0; ; n++) {
    signal?.throwIfAborted();
    let response: Response;
    try {
      response = await attempt();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (!(error instanceof TransportError) || n >= policy.maxRetries) throw error;
      await wait(backoffDelay(n, policy));
      continue;
    }
    if (!isTransientStatus(response.status) || n >= policy.maxRetries) return response;
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), policy.now());
    if (retryAfter !== undefined && retryAfter > policy.maxRetryAfterMs) return response;
    await response.body?.cancel().catch(() => undefined);
    await wait(Math.max(retryAfter ?? 0, backoffDelay(n, policy)));
  }
}

/** Limits of one HTTP request. */
export interface RequestLimits {
  /** Whole request, response body included. */
  timeoutMs: number;
  /** Until the response headers arrive (fetch exposes no separate connect phase; this bounds it). */
  connectTimeoutMs: number;
  /** The operation's signal (caller cancellation, total timeout): its reason is rethrown as is. */
  signal?: AbortSignal | undefined;
}

/**
 * `fetch` within `limits`; any failure to get a response becomes a `TransportError`, except an
 * abort of `limits.signal`, whose reason is rethrown. The request's signal stays attached while
 * the body is read, so `timeoutMs` covers the body too.
 */
export async function fetchWithTimeout(fetchImpl: typeof fetch, url: string, init: RequestInit, limits: RequestLimits): Promise<Response> {
  const { timeoutMs, connectTimeoutMs, signal } = limits;
  const connect = new AbortController();
  const connectTimer = AbortSignal.timeout(connectTimeoutMs);
  const onConnectTimeout = (): void => connect.abort(connectTimer.reason);
  connectTimer.addEventListener('abort', onConnectTimeout, { once: true });
  const total = AbortSignal.timeout(timeoutMs);
  try {
    return await fetchImpl(url, { ...init, signal: anySignal([signal, total, connect.signal]) });
  } catch (cause) {
    if (signal?.aborted) throw signal.reason;
    const message = connect.signal.aborted
      ? `request to ${url} timed out: no response headers within ${connectTimeoutMs} ms`
      : total.aborted
        ? `request to ${url} timed out after ${timeoutMs} ms`
        : `request to ${url} failed`;
    throw new TransportError(message, { cause });
  } finally {
    connectTimer.removeEventListener('abort', onConnectTimeout);
  }
}
