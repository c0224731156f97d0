/**
 * Retry of transient HTTP failures with exponential backoff, full-range jitter and `Retry-After`.
 * Only network failures (`TransportError` thrown by the attempt) and transient statuses are
 * retried; everything else is handed back to the caller on the first answer.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { TransportError } from './errors.ts';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  /** Delay before the first retry; doubles each time. */
  baseDelayMs: number;
  /** Upper bound of a computed backoff delay. */
  maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the response is returned as is. */
  maxRetryAfterMs: number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  now: () => number;
}

export const defaultSleep = (ms: number): Promise<void> => delay(ms);

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
 * (possibly transient) is returned; the last `TransportError` is rethrown.
 */
export async function withRetry(attempt: () => Promise<Response>, policy: RetryPolicy): Promise<Response> {
  for (let n = 0; ; n++) {
    let response: Response;
    try {
      response = await attempt();
    } catch (error) {
      if (!(error instanceof TransportError) || n >= policy.maxRetries) throw error;
      await policy.sleep(backoffDelay(n, policy));
      continue;
    }
    if (!isTransientStatus(response.status) || n >= policy.maxRetries) return response;
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), policy.now());
    if (retryAfter !== undefined && retryAfter > policy.maxRetryAfterMs) return response;
    await response.body?.cancel().catch(() => undefined);
    await policy.sleep(Math.max(retryAfter ?? 0, backoffDelay(n, policy)));
  }
}

/** `fetch` with a per-request timeout; any failure to get a response becomes a `TransportError`. */
export async function fetchWithTimeout(
  fetchImpl: typeof fetch,
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<Response> {
  try {
    return await fetchImpl(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (cause) {
    const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
    throw new TransportError(timedOut ? `request to ${url} timed out after ${timeoutMs} ms` : `request to ${url} failed`, { cause });
  }
}
