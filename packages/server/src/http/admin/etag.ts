/**
 * Entity tags of admin resources (RFC 9110 §8.8.3): a client's ETag is its version, quoted. If-Match
 * (§13.1.1) carries one strong tag, or `*`; the core compares it with the stored version as it
 * writes (compare-and-set), so a stale tag gets 412 even when two writers race.
 */
import { Problem } from './problem.ts';

export const etagOf = (version: string): string => `"${version}"`;

/** The version an If-Match header names; undefined when absent or `*`. */
export function versionFromIfMatch(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const text = (Array.isArray(header) ? header.join(',') : header).trim();
  if (text === '*') return undefined;
  const m = /^"([\x21\x23-\x7e]{1,64})"$/.exec(text);
  if (m) return m[1];
  if (/^W\//.test(text)) throw new Problem(412, 'precondition_failed', 'a weak entity tag never matches (If-Match uses strong comparison)');
  throw new Problem(400, 'invalid_request', 'If-Match: one quoted entity tag (the ETag as received) or *');
}
