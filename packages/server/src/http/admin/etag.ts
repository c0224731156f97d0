/** Entity tags of admin resources (RFC 9110 §8.8.3) and If-Match evaluation (§13.1.1). */
import { createHash } from 'node:crypto';
import { Problem } from './problem.ts';

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj).filter((k) => obj[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`).join(',')}}`;
}

/** A strong tag over the whole stored record (a secret rotation changes it too). */
export function etagOf(record: unknown): string {
  return `"${createHash('sha256').update(canonical(record)).digest('base64url').slice(0, 27)}"`;
}

/** Throws 412 when an If-Match header is present and names no current tag (strong comparison). */
export function checkIfMatch(header: string | string[] | undefined, current: string): void {
  if (header === undefined) return;
  const text = Array.isArray(header) ? header.join(',') : header;
  if (text.trim() === '*') return;
  const tags = text.split(',').map((t) => t.trim()).filter(Boolean);
  if (!tags.includes(current)) throw new Problem(412, 'precondition_failed', 'the resource changed since it was read (If-Match does not match its ETag); read it again');
}
