/**
 * A bounded, SSRF-safe GET for clients' `jwks_uri` (issue 13 items 3 and 9), on node:http(s)
 * rather than fetch() so that every limit is enforced by this code:
 * - one deadline covers the whole exchange — DNS, connect, TLS, headers and body: when it passes
 *   the request and its socket are destroyed, wherever the exchange is;
 * - a response refused on its status or its Content-Length, or a body growing past the size
 *   limit, is destroyed at once (socket closed; nothing more is read);
 * - https only, unless the address connected to is on the allow-list;
 * - the address is checked in the socket's own `lookup`, i.e. on the address actually connected
 *   to (no window between a check and a second DNS answer), and for IP-literal hosts up front;
 * - no redirects, no connection reuse (`agent: false`), no proxy environment variables.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { AddressPolicy } from './address-policy.ts';

/** Why a fetch failed: a stable code (see docs/errors.md) and its facts. */
export class FetchError extends Error {
  readonly code: string;
  readonly facts: Record<string, unknown>;
  constructor(code: string, message: string, facts: Record<string, unknown> = {}) {
    super(message);
    this.name = 'FetchError';
    this.code = code;
    this.facts = facts;
  }
}

export interface FetchLimits {
  timeoutMs: number;
  maxBytes: number;
  policy: AddressPolicy;
}

export interface FetchedDocument {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

export function safeGet(uri: string, limits: FetchLimits, accept: string): Promise<FetchedDocument> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return Promise.reject(new FetchError('jwks_uri_invalid', 'jwks_uri is not a URL'));
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return Promise.reject(new FetchError('jwks_uri_not_https', `jwks_uri scheme ${url.protocol} is not https`));
  const plainHttp = url.protocol === 'http:';
  const host = url.hostname.replace(/^\[|\]$/g, '');

  /** Refuses an address the policy forbids, or plain http to an address not allow-listed. */
  const judge = (address: string): FetchError | undefined => {
    const refusal = limits.policy.refusal(address);
    if (refusal) return new FetchError('jwks_uri_forbidden_address', `jwks_uri host ${host} resolves to a ${refusal} address (${address})`, { host, address, range: refusal });
    if (plainHttp && !limits.policy.allowed(address)) return new FetchError('jwks_uri_not_https', `jwks_uri must be https (plain http only to allow-listed addresses): ${host}`, { host, address });
    return undefined;
  };
  if (isIP(host)) {
    const refused = judge(host);
    if (refused) return Promise.reject(refused);
  }
  const lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0, hints: options.hints ?? 0 }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as LookupAddress[];
      let firstRefusal: FetchError | undefined;
      const ok = list.filter((a) => {
        const refused = judge(a.address);
        firstRefusal ??= refused;
        return !refused;
      });
      if (ok.length === 0) return callback(firstRefusal ?? new FetchError('jwks_uri_unreachable', `jwks_uri host ${host} has no address`, { host }), '', 0);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, ok);
      callback(null, ok[0]!.address, ok[0]!.family);
    });
  };

  return new Promise<FetchedDocument>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, doc?: FetchedDocument) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(doc!);
    };
    const req = (plainHttp ? httpRequest : httpsRequest)(url, {
      method: 'GET',
      agent: false,
      lookup,
      maxHeaderSize: 16 * 1024,
      headers: { accept, 'user-agent': 'tessera-jwks-fetch', connection: 'close' },
    });
    const deadline = setTimeout(
      () => finish(new FetchError('jwks_uri_timeout', `jwks_uri did not answer in full within ${limits.timeoutMs} ms`, { timeoutMs: limits.timeoutMs })),
      limits.timeoutMs,
    );
    req.on('error', (err) => finish(err instanceof FetchError ? err : new FetchError('jwks_uri_unreachable', `jwks_uri fetch failed: ${err.message}`, { host, cause: (err as NodeJS.ErrnoException).code ?? err.message })));
    req.on('response', (res) => {
      const refuse = (err: FetchError) => {
        finish(err); // first: destroying emits 'aborted', which must not become the reason
        res.destroy();
      };
      if (res.statusCode !== 200) return refuse(new FetchError('jwks_uri_status', `jwks_uri answered ${res.statusCode}`, { status: res.statusCode }));
      const declared = Number(res.headers['content-length'] ?? '0');
      if (declared > limits.maxBytes) return refuse(new FetchError('jwks_uri_too_large', `jwks_uri response declares ${declared} bytes; the limit is ${limits.maxBytes}`, { declared, maxBytes: limits.maxBytes }));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limits.maxBytes) return refuse(new FetchError('jwks_uri_too_large', `jwks_uri response exceeds ${limits.maxBytes} bytes`, { maxBytes: limits.maxBytes }));
        chunks.push(chunk);
      });
      res.on('error', (err) => finish(new FetchError('jwks_uri_unreachable', `jwks_uri body failed: ${err.message}`, { host })));
      res.on('aborted', () => finish(new FetchError('jwks_uri_unreachable', 'jwks_uri connection closed mid-body', { host })));
      res.on('end', () => finish(undefined, { status: 200, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.end();
  });
}
