/**
 * Authorization server metadata discovery (RFC 8414), with the OpenID Connect location as fallback.
 */
import { metadataUrls } from '../../server/src/shared/oauth.ts';
import { DiscoveryError, TransportError } from './errors.ts';
import { fetchWithTimeout, withRetry, type RequestLimits, type RetryPolicy } from './retry.ts';

/** The metadata members the client relies on; the rest is passed through untouched. */
export interface DiscoveredMetadata {
  issuer: string;
  token_endpoint: string;
  [member: string]: unknown;
}

export interface DiscoveryContext {
  fetch: typeof fetch;
  /** Per-request limits; `signal` (cancellation, total timeout) stops discovery at once. */
  limits: RequestLimits;
  retry: RetryPolicy;
}

/** Fetches and validates the issuer's metadata; the `issuer` member must equal `issuer` exactly. */
export async function discover(issuer: string, context: DiscoveryContext): Promise<DiscoveredMetadata> {
  const failures: string[] = [];
  for (const url of metadataUrls(issuer)) {
    let document: unknown;
    try {
      document = await fetchDocument(url, context);
    } catch (error) {
      if (context.limits.signal?.aborted) throw context.limits.signal.reason;
      failures.push(error instanceof Error ? error.message : String(error));
      continue;
    }
    return validateMetadata(document, issuer, url);
  }
  throw new DiscoveryError(`no authorization server metadata for ${issuer}: ${failures.join('; ')}`);
}

async function fetchDocument(url: string, context: DiscoveryContext): Promise<unknown> {
  const response = await withRetry(
    () => fetchWithTimeout(context.fetch, url, { headers: { accept: 'application/json' }, redirect: 'error' }, context.limits),
    context.retry,
    context.limits.signal,
  );
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw new TransportError(`${url} answered ${response.status}`, { status: response.status });
  }
  try {
    return await response.json();
  } catch (cause) {
    throw new TransportError(`${url} did not return JSON`, { status: response.status, cause });
  }
}

function validateMetadata(document: unknown, issuer: string, url: string): DiscoveredMetadata {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new DiscoveryError(`${url} is not a JSON object`);
  }
  const metadata = document as Record<string, unknown>;
  if (metadata.issuer !== issuer) {
    throw new DiscoveryError(`issuer mismatch at ${url}: expected ${issuer}, got ${String(metadata.issuer)}`);
  }
  if (typeof metadata.token_endpoint !== 'string' || !URL.canParse(metadata.token_endpoint)) {
    throw new DiscoveryError(`${url} has no valid token_endpoint`);
  }
  return metadata as DiscoveredMetadata;
}
