/**
 * The audit trail's hash chain: each event's hash is SHA-256 over the canonical JSON (keys sorted,
 * no whitespace) of the event without its hash — seq, time, type, realm, client, actor, data and
 * the previous event's hash — so an edited, deleted or reordered row breaks the chain at that row.
 */
import { createHash } from 'node:crypto';
import type { AuditEventRecord, AuditStore } from '../ports/index.ts';
import type { AuditVerifyResult } from './types.ts';

import { AUDIT_GENESIS_HASH as GENESIS_HASH } from '../ports/index.ts';
export { GENESIS_HASH };

/** JSON with object keys sorted at every level (RFC 8785-like for the values Tessera stores). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

export function auditHash(record: Omit<AuditEventRecord, 'hash'>): string {
  const { seq, at, type, realm, clientId, actor, data, prevHash } = record;
  return createHash('sha256').update(canonicalJson({ seq, at, type, realm, clientId, actor, data, prevHash })).digest('hex');
}

const SECRET_FIELD = /secret|password|private|^d$|^p$|^q$|^dp$|^dq$|^qi$|hash|encrypted|fingerprint/i;

/** A copy with every secret-looking member replaced by "[redacted]". */
export function redact(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(redact);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = SECRET_FIELD.test(k) ? '[redacted]' : redact(v);
  return out;
}

/** Walks the whole chain in pages; reports the first broken link. */
export async function verifyChain(store: AuditStore, pageSize = 1000): Promise<AuditVerifyResult> {
  const anchor = await store.anchor();
  let prevHash = anchor?.hash ?? GENESIS_HASH;
  let expectedSeq = (anchor?.seq ?? 0) + 1;
  let checked = 0;
  let after = anchor?.seq ?? 0;
  const base = anchor ? { anchor } : {};
  for (;;) {
    const page = await store.list({ after, limit: pageSize });
    for (const e of page) {
      checked++;
      if (e.seq !== expectedSeq) return { ok: false, checked, first_broken_seq: e.seq, problem: `event ${expectedSeq} is missing (next found: ${e.seq})`, ...base };
      if (e.prevHash !== prevHash) return { ok: false, checked, first_broken_seq: e.seq, problem: `prev_hash of event ${e.seq} does not match the hash of event ${e.seq - 1}`, ...base };
      if (auditHash(e) !== e.hash) return { ok: false, checked, first_broken_seq: e.seq, problem: `event ${e.seq} was altered: its content does not match its hash`, ...base };
      prevHash = e.hash;
      expectedSeq++;
      after = e.seq;
    }
    if (page.length < pageSize) return { ok: true, checked, ...base };
  }
}
