/**
 * Start-up config sync (issue 9 §1): the configuration file's clients are applied without ever
 * undoing an operator's runtime action. Each declared client remembers what the file declared when
 * it was last applied (ClientRecord.declared); at start-up only the fields the file itself changed
 * since then are written (and audited). An unchanged file writes nothing, announces nothing and
 * hashes nothing; runtime state (disabled, a rotated secret, uploaded keys) survives restarts.
 */
import type { ClientMetadataInput } from '../config/index.ts';
import type { ClientRecord, DeclaredClient } from '../ports/index.ts';
import { toClientMetadata } from '../clients/metadata.ts';
import { canonicalJson } from './audit.ts';

/** Metadata fields that are not settings (never compared). */
const NOT_SETTINGS = new Set(['realm', 'created_at', 'updated_at']);

/** The client's settings in RFC 7591 names (what a merge patch or the file can set). */
export function settingsOf(record: ClientRecord): Record<string, unknown> {
  const meta = toClientMetadata(record);
  for (const k of NOT_SETTINGS) delete meta[k];
  if (meta.scope === '') delete meta.scope;
  return meta;
}

/** Names of the settings where `a` and `b` differ. */
export function differingFields(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].filter((k) => !NOT_SETTINGS.has(k) && canonicalJson(a[k]) !== canonicalJson(b[k])).sort();
}

/** Where the stored client differs from what the file declared (empty when not declared). */
export function clientDrift(record: ClientRecord): string[] {
  if (!record.declared) return [];
  const drift = differingFields(record.declared.fields, settingsOf(record));
  if (record.declared.secretOverridden) drift.push('client_secret');
  return drift;
}

export const SECRET_FINGERPRINT_PURPOSE = 'declared-client-secret';

export interface SyncPlan {
  /** Fields the file changed since it was last applied (or, on first adoption, that differ from the stored client). */
  changed: string[];
  /** The file names a secret other than the one it named last time. */
  secretChanged: boolean;
  /** The metadata to build the record from. */
  next: ClientMetadataInput;
  declared: DeclaredClient;
}

/**
 * Decides what the file changes for a stored client. `declaredNow` is the file's client as
 * settings (built without its secret); `fingerprint` the keyed fingerprint of its secret.
 */
export function planSync(existing: ClientRecord, input: ClientMetadataInput, declaredNow: Record<string, unknown>, fingerprint: string | undefined, secretDiffersFromStored: boolean): SyncPlan {
  const current = settingsOf(existing);
  const previous = existing.declared;
  // Since the last start: the fields the file changed. First adoption (a client stored before it
  // was declared, or by an older version): the fields the file names explicitly that differ.
  const changed = previous
    ? differingFields(previous.fields, declaredNow)
    : differingFields(current, declaredNow).filter((k) => k in input && k !== 'client_secret');
  const secretChanged = input.client_secret !== undefined && (previous ? fingerprint !== previous.secretFingerprint : secretDiffersFromStored);
  const next: Record<string, unknown> = { ...current, client_id: existing.clientId };
  for (const k of changed) {
    if (declaredNow[k] === undefined) delete next[k];
    else next[k] = declaredNow[k];
  }
  if (secretChanged) next.client_secret = input.client_secret;
  const declared: DeclaredClient = { fields: declaredNow };
  if (fingerprint !== undefined) declared.secretFingerprint = fingerprint;
  if (previous?.secretOverridden && !secretChanged) declared.secretOverridden = true;
  return { changed, secretChanged, next: next as ClientMetadataInput, declared };
}
