/**
 * Issuer metadata lookup (RFC 8414; OpenID Connect location as fallback) for the resource server.
 * Kept separate from the client SDK on purpose: the two entry points share nothing but the wire
 * vocabulary.
 */
import { metadataUrls, type AuthorizationServerMetadata } from '../../server/src/shared/oauth.ts';
import { VerifierUnavailableError } from './errors.ts';


/**
 * Fetches the issuer's metadata; its `issuer` member must equal `issuer` exactly.
 * Every failure is a `VerifierUnavailableError`.
 */
export async function fetchMetadata(
  issuer: string,
  fetchImpl: typeof fetch,
  timeoutMs: number,
): Promise<Partial<AuthorizationServerMetadata> & { issuer: string }> {
  const failures: string[] = [];
  for (const url of metadataUrls(issuer)) {
    let document: unknown;
    try {
      const response = await fetchImpl(url, { headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        failures.push(`${url} answered ${response.status}`);
        continue;
      }
      document = await response.json();
    } catch (cause) {
      failures.push(`${url} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
      continue;
    }
    if (typeof document !== 'object' || document === null || (document as { issuer?: unknown }).issuer !== issuer) {
      throw new VerifierUnavailableError(`metadata at ${url} does not name issuer ${issuer}`);
    }
    return document as Partial<AuthorizationServerMetadata> & { issuer: string };
  }
  throw new VerifierUnavailableError(`no metadata for ${issuer}: ${failures.join('; ')}`);
}

/** Runs `load` once and shares the result; a failure is not remembered, so the next call retries. */
export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

/** Reads a URL-valued metadata member or fails. */
export function endpointFrom(metadata: Record<string, unknown>, member: string): string {
  const value = metadata[member];
  if (typeof value !== 'string' || !URL.canParse(value)) throw new VerifierUnavailableError(`issuer metadata has no valid ${member}`);
  return value;
}
