/**
 * Export and import of a deployment's state — realms' clients, signing keys and revocations — to
 * move from one backend to another (SQLite → PostgreSQL). Secrets never appear in clear unless the
 * export is explicitly asked to include them: by default private keys and client_secret_jwt secrets
 * stay encrypted with the source's KEK (the target must share it), and client secrets of the other
 * methods are only ever hashes.
 */
import { AdminError } from './errors/index.ts';
import type { KeyEncryptionKey } from './crypto/kek.ts';
import type { ClientRecord, SigningKeyRecord, Storage } from './ports/index.ts';
import { secretAad } from './clients/metadata.ts';
import { privateKeyAad } from './keys/key-manager.ts';

export const EXPORT_FORMAT = 'tessera-export';
export const EXPORT_VERSION = 1;

/** A key or secret in clear, present only in exports made with `includeSecrets`. */
interface Clear {
  /** base64 of the plaintext (PKCS#8 DER for keys, UTF-8 for secrets). */
  clear: string;
}

export interface ExportedRealm {
  name: string;
  clients: Array<ClientRecord & { secretClear?: Clear }>;
  keys: Array<SigningKeyRecord & { privateKeyClear?: Clear }>;
  revocations: Array<{ jti: string; expiresAt: number }>;
}

export interface ExportDocument {
  format: typeof EXPORT_FORMAT;
  version: number;
  exportedAt: string;
  /** True when private keys and client_secret_jwt secrets are in clear: handle as a secret. */
  containsSecrets: boolean;
  realms: ExportedRealm[];
}

export async function exportState(storage: Storage, kek: KeyEncryptionKey, realms: string[], includeSecrets: boolean, now: number): Promise<ExportDocument> {
  const out: ExportedRealm[] = [];
  for (const name of realms) {
    const clients: ExportedRealm['clients'] = [];
    for (let after: string | undefined; ; ) {
      const page = await storage.clients.list(name, { ...(after === undefined ? {} : { after }), limit: 1000 });
      for (const c of page) {
        if (includeSecrets && c.secretEncrypted) {
          const { secretEncrypted, ...rest } = c;
          clients.push({ ...rest, secretClear: { clear: kek.decrypt(secretEncrypted, secretAad(name, c.clientId)).toString('base64') } });
        } else clients.push(c);
      }
      if (page.length < 1000) break;
      after = page.at(-1)!.clientId;
    }
    const keys = (await storage.keys.list(name)).map((k) => {
      if (!includeSecrets) return k;
      const { privateKeyEncrypted, ...rest } = k;
      return { ...rest, privateKeyEncrypted: '', privateKeyClear: { clear: kek.decrypt(privateKeyEncrypted, privateKeyAad(name, k.kid)).toString('base64') } };
    });
    const revocations = (await storage.revocations.list(name)).filter((r) => r.expiresAt > now);
    out.push({ name, clients, keys, revocations });
  }
  return { format: EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt: new Date(now).toISOString(), containsSecrets: includeSecrets, realms: out };
}

export interface ImportSummary {
  realm: string;
  clients: number;
  keys: number;
  revocations: number;
}

/**
 * Writes an export into storage (upserting by id). Clear secrets are encrypted with this
 * deployment's KEK; encrypted ones must decrypt with it, or the import stops before writing.
 */
export async function importState(storage: Storage, kek: KeyEncryptionKey, doc: unknown, knownRealms: ReadonlySet<string>): Promise<ImportSummary[]> {
  const d = doc as ExportDocument;
  if (d?.format !== EXPORT_FORMAT || d.version !== EXPORT_VERSION || !Array.isArray(d.realms)) {
    throw new AdminError('invalid_metadata', `not a ${EXPORT_FORMAT} version ${EXPORT_VERSION} document`);
  }
  const prepared = d.realms.map((r) => {
    if (!knownRealms.has(r.name)) throw new AdminError('not_found', `realm ${r.name} is not configured here; add it to the config first`);
    const clients = r.clients.map(({ secretClear, ...c }) => {
      if (c.realm !== r.name) throw new AdminError('invalid_metadata', `client ${c.clientId} belongs to realm ${c.realm}, listed under ${r.name}`);
      if (secretClear) return { ...c, secretEncrypted: kek.encrypt(Buffer.from(secretClear.clear, 'base64'), secretAad(r.name, c.clientId)) };
      if (c.secretEncrypted) checkDecrypts(kek, c.secretEncrypted, secretAad(r.name, c.clientId), `client ${c.clientId}`);
      return c;
    });
    const keys = r.keys.map(({ privateKeyClear, ...k }) => {
      if (privateKeyClear) return { ...k, privateKeyEncrypted: kek.encrypt(Buffer.from(privateKeyClear.clear, 'base64'), privateKeyAad(r.name, k.kid)) };
      checkDecrypts(kek, k.privateKeyEncrypted, privateKeyAad(r.name, k.kid), `signing key ${k.kid}`);
      return k;
    });
    return { name: r.name, clients, keys, revocations: r.revocations };
  });
  const summary: ImportSummary[] = [];
  for (const r of prepared) {
    for (const c of r.clients) await storage.clients.put(c);
    for (const k of r.keys) await storage.keys.put(k);
    for (const rev of r.revocations) await storage.revocations.revoke(r.name, rev.jti, rev.expiresAt);
    for (const c of r.clients) await storage.changes.publish({ realm: r.name, kind: 'client', id: c.clientId });
    await storage.changes.publish({ realm: r.name, kind: 'keys', id: '' });
    summary.push({ realm: r.name, clients: r.clients.length, keys: r.keys.length, revocations: r.revocations.length });
  }
  return summary;
}

function checkDecrypts(kek: KeyEncryptionKey, ciphertext: string, aad: string, what: string): void {
  try {
    kek.decrypt(ciphertext, aad);
  } catch {
    throw new AdminError('invalid_metadata', `${what} was encrypted with another key-encryption key: use the same TESSERA_KEK, or export with --include-secrets`);
  }
}
