/**
 * The realms' signing keys. Private keys are decrypted once into KeyObjects and never leave this
 * module; storage only ever holds them encrypted with the KEK.
 *
 * Life of a key: created with `activatesAt` in the future (pre-publication: it is in the JWKS but
 * signs nothing yet) → signs from `activatesAt` until the next key activates → stays published
 * until every token it signed has expired (successor's activatesAt + max token lifetime + skew) →
 * left out of the JWKS. A revoked key (compromise) is neither published nor used at once.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { RealmConfig } from '../config/index.ts';
import type { KeyEncryptionKey } from '../crypto/kek.ts';
import { b64urlJson, type AsymmetricAlg } from '../crypto/jws.ts';
import type { ChangeFeed, Clock, Jwk, SigningKeyRecord, SigningKeyStore } from '../ports/index.ts';

/** Leeway added to a retired key's publication for resource servers' clock skew. */
const RETENTION_SKEW_MS = 5 * 60 * 1000;

export interface ActiveKey {
  kid: string;
  alg: AsymmetricAlg;
  key: KeyObject;
  /** base64url of the protected header {alg, typ: 'at+jwt', kid}, computed once. */
  headerB64: string;
}

interface LoadedKey {
  record: SigningKeyRecord;
  publicKey: KeyObject;
  privateKey: KeyObject | undefined;
  headerB64: string;
}

interface RealmKeys {
  keys: LoadedKey[]; // ordered by activatesAt ascending
}

export function privateKeyAad(realm: string, kid: string): string {
  return `signing-key:${realm}:${kid}`;
}

/** RFC 7638 JWK thumbprint (SHA-256), used as kid. */
export function jwkThumbprint(jwk: Jwk): string {
  const members: Record<string, Record<string, unknown>> = {
    EC: { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y },
    RSA: { e: jwk.e, kty: jwk.kty, n: jwk.n },
    OKP: { crv: jwk.crv, kty: jwk.kty, x: jwk.x },
  };
  const m = members[jwk.kty];
  if (!m) throw new TypeError(`unsupported kty ${jwk.kty}`);
  return createHash('sha256').update(JSON.stringify(m)).digest('base64url');
}

function generatePair(alg: AsymmetricAlg) {
  return alg === 'EdDSA'
    ? generateKeyPairSync('ed25519')
    : alg.startsWith('ES')
      ? generateKeyPairSync('ec', { namedCurve: alg === 'ES256' ? 'P-256' : 'P-384' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
}

/**
 * A new signing key; its kid is its JWK thumbprint. A key whose thumbprint would begin with '-'
 * (1 in 64) is drawn again, so a kid never reads as an option on a command line
 * (`tessera keys revoke KID`).
 */
export function generateSigningKey(realm: string, alg: AsymmetricAlg, kek: KeyEncryptionKey, now: number, activatesAt: number): SigningKeyRecord {
  let pair: ReturnType<typeof generatePair>;
  let pub: Jwk;
  let kid: string;
  do {
    pair = generatePair(alg);
    pub = pair.publicKey.export({ format: 'jwk' }) as Jwk;
    kid = jwkThumbprint(pub);
  } while (kid.startsWith('-'));
  const publicJwk: Jwk = { ...pub, kid, alg, use: 'sig' };
  const der = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
  return {
    realm,
    kid,
    alg,
    publicJwk,
    privateKeyEncrypted: kek.encrypt(der, privateKeyAad(realm, kid)),
    createdAt: now,
    activatesAt,
  };
}

export class KeyManager {
  readonly #store: SigningKeyStore;
  readonly #kek: KeyEncryptionKey;
  readonly #clock: Clock;
  readonly #realms: ReadonlyMap<string, RealmConfig>;
  readonly #changes: ChangeFeed | undefined;
  readonly #loaded = new Map<string, RealmKeys>();
  readonly #decrypted = new Map<string, KeyObject>(); // `${realm}\0${kid}` → private KeyObject

  constructor(opts: { store: SigningKeyStore; kek: KeyEncryptionKey; clock: Clock; realms: ReadonlyMap<string, RealmConfig>; changes?: ChangeFeed }) {
    this.#store = opts.store;
    this.#kek = opts.kek;
    this.#clock = opts.clock;
    this.#realms = opts.realms;
    this.#changes = opts.changes;
    this.#changes?.subscribe((e) => {
      if (e.kind === 'keys' && this.#realms.has(e.realm)) void this.reload(e.realm).catch(() => undefined);
      if (e.kind === 'resync') for (const realm of this.#realms.keys()) void this.reload(realm).catch(() => undefined);
    });
  }

  /**
   * Loads every realm's keys. With `create` (the server's start-up), also creates the first key of
   * a realm that has none (active at once), and a successor when the configured signing alg differs
   * from the current key's (pre-published). Admin commands only load.
   */
  async init(opts: { create: boolean } = { create: true }): Promise<void> {
    for (const realm of this.#realms.values()) await this.initRealm(realm.name, opts);
  }

  /** init() for one realm (a runtime realm created or loaded after start-up). */
  async initRealm(name: string, opts: { create: boolean } = { create: true }): Promise<void> {
    const realm = this.#realms.get(name);
    if (!realm) throw new Error(`unknown realm ${name}`);
    await this.reload(realm.name);
    if (!opts.create) return;
    const now = this.#clock.now();
    const current = this.#current(realm.name, now);
    const newest = this.#loaded.get(realm.name)?.keys.at(-1);
    if (!current) {
      // Instances starting together on a fresh backend: exactly one of them creates the first key,
      // the others load it.
      const first = generateSigningKey(realm.name, realm.tokens.signingAlg, this.#kek, now, now);
      if (newest === undefined && (await this.#store.createFirst(first))) await this.#changes?.publish({ realm: realm.name, kind: 'keys', id: '' });
      await this.reload(realm.name);
      // A fresh reading: another instance's first key is active from its own reading, which may be
      // later than `now`; judged by `now` it would look not yet active and get a needless sibling.
      const later = this.#clock.now();
      if (!this.#current(realm.name, later)) await this.#add(generateSigningKey(realm.name, realm.tokens.signingAlg, this.#kek, later, later));
    } else if (newest && newest.record.alg !== realm.tokens.signingAlg && !newest.record.revokedAt) {
      await this.rotate(realm.name);
    }
  }

  /** Drops what is loaded for a realm (a runtime realm was deleted): nothing of it signs or verifies here any more. */
  forget(realm: string): void {
    this.#loaded.delete(realm);
    for (const id of this.#decrypted.keys()) if (id.startsWith(`${realm}\0`)) this.#decrypted.delete(id);
  }

  /**
   * Reloads every realm's keys periodically: a safety net for change events that were lost
   * (the change feed's resync covers reconnects). Returns a function that stops it.
   */
  startRefresh(intervalMs: number): () => void {
    const timer = setInterval(() => {
      for (const realm of this.#realms.keys()) void this.reload(realm).catch(() => undefined);
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  async reload(realm: string): Promise<void> {
    // Ties in activatesAt (an immediate rotation in the same millisecond) go to the newer key.
    const records = (await this.#store.list(realm)).sort((a, b) => a.activatesAt - b.activatesAt || a.createdAt - b.createdAt || a.kid.localeCompare(b.kid));
    const keys: LoadedKey[] = [];
    for (const record of records) {
      if (record.revokedAt !== undefined) continue;
      const id = `${realm}\0${record.kid}`;
      let privateKey = this.#decrypted.get(id);
      if (!privateKey) {
        let der: Buffer;
        try {
          der = this.#kek.decrypt(record.privateKeyEncrypted, privateKeyAad(realm, record.kid));
        } catch {
          throw new TypeError(
            `signing key ${record.kid} of realm ${realm} cannot be decrypted: this key-encryption key is not the one it was stored with (every instance of a deployment needs the same TESSERA_KEK)`,
          );
        }
        privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
        this.#decrypted.set(id, privateKey);
      }
      keys.push({
        record,
        publicKey: createPublicKey(privateKey),
        privateKey,
        headerB64: b64urlJson({ alg: record.alg, typ: 'at+jwt', kid: record.kid }),
      });
    }
    this.#loaded.set(realm, { keys });
  }

  /** The key that signs now. Throws when the realm has none (init() not run). */
  signingKey(realm: string): ActiveKey {
    const k = this.#current(realm, this.#clock.now());
    if (!k || !k.privateKey) throw new Error(`realm ${realm} has no active signing key`);
    return { kid: k.record.kid, alg: k.record.alg as AsymmetricAlg, key: k.privateKey, headerB64: k.headerB64 };
  }

  /** A published key by kid, for verifying this server's own tokens. */
  verificationKey(realm: string, kid: string): { key: KeyObject; alg: AsymmetricAlg } | undefined {
    const now = this.#clock.now();
    const keys = this.#loaded.get(realm)?.keys ?? [];
    const i = keys.findIndex((k) => k.record.kid === kid);
    if (i < 0 || !this.#isPublished(keys, i, realm, now)) return undefined;
    const k = keys[i]!;
    return { key: k.publicKey, alg: k.record.alg as AsymmetricAlg };
  }

  /** The realm's public JWK Set: upcoming, current and still-needed retired keys. */
  jwks(realm: string): { keys: Jwk[] } {
    const now = this.#clock.now();
    const keys = this.#loaded.get(realm)?.keys ?? [];
    return { keys: keys.filter((_, i) => this.#isPublished(keys, i, realm, now)).map((k) => ({ ...k.record.publicJwk })) };
  }

  /** Key records with their state, for `tessera keys list`. */
  describe(realm: string): Array<{ kid: string; alg: string; state: 'next' | 'active' | 'retired' | 'expired'; activatesAt: number }> {
    const now = this.#clock.now();
    const keys = this.#loaded.get(realm)?.keys ?? [];
    const current = this.#current(realm, now);
    return keys.map((k, i) => ({
      kid: k.record.kid,
      alg: k.record.alg,
      activatesAt: k.record.activatesAt,
      state: k === current ? 'active' : k.record.activatesAt > now ? 'next' : this.#isPublished(keys, i, realm, now) ? 'retired' : 'expired',
    }));
  }

  /**
   * Adds the next key: published now, signing after the realm's pre-publication period (or at once
   * with `immediate`). Resolves the new kid.
   */
  async rotate(realm: string, opts: { immediate?: boolean } = {}): Promise<{ kid: string; activatesAt: number }> {
    const cfg = this.#realms.get(realm);
    if (!cfg) throw new Error(`unknown realm ${realm}`);
    const now = this.#clock.now();
    const keys = this.#loaded.get(realm)?.keys ?? [];
    // An immediate rotation must win over the current key even if it activated in this very
    // millisecond, or later by a clock that stepped back: never activate before it, and be newer.
    const current = this.#current(realm, now);
    const activatesAt = opts.immediate ? Math.max(now, current?.record.activatesAt ?? now) : now + cfg.keys.prePublishSeconds * 1000;
    const createdAt = Math.max(now, ...keys.map((k) => k.record.createdAt + 1));
    const record = generateSigningKey(realm, cfg.tokens.signingAlg, this.#kek, createdAt, activatesAt);
    await this.#add(record);
    return { kid: record.kid, activatesAt };
  }

  /** Makes a pre-published key sign from now on (an explicit promotion, e.g. before revoking its predecessor). */
  async promote(realm: string, kid: string): Promise<boolean> {
    const record = (await this.#store.list(realm)).find((r) => r.kid === kid);
    const now = this.#clock.now();
    if (!record || record.revokedAt !== undefined) return false;
    if (record.activatesAt > now) {
      const current = this.#current(realm, now);
      await this.#store.put({ ...record, activatesAt: Math.max(now, current?.record.activatesAt ?? now) });
      await this.reload(realm);
      await this.#changes?.publish({ realm, kind: 'keys', id: '' });
    }
    return true;
  }

  /** Realms that have no key able to sign now (readiness). */
  realmsWithoutSigningKey(): string[] {
    const now = this.#clock.now();
    return [...this.#realms.keys()].filter((realm) => !this.#current(realm, now)?.privateKey);
  }

  /**
   * Scheduled rotation (keys.rotate_every): when the newest key of a realm is older than the
   * period, rotates — on one instance of the cluster: the caller holds the realm's lease, and the
   * check runs on keys freshly read from storage, so a rotation another instance just did counts.
   * Resolves the realms rotated.
   */
  async rotateDue(acquire: (realm: string) => Promise<boolean>): Promise<string[]> {
    const rotated: string[] = [];
    for (const cfg of this.#realms.values()) {
      const every = cfg.keys.rotateEverySeconds;
      if (every === undefined) continue;
      const due = () => {
        const newest = this.#loaded.get(cfg.name)?.keys.at(-1);
        return newest === undefined || newest.record.createdAt + every * 1000 <= this.#clock.now();
      };
      if (!due()) continue;
      if (!(await acquire(cfg.name))) continue;
      await this.reload(cfg.name);
      if (!due()) continue;
      await this.rotate(cfg.name);
      rotated.push(cfg.name);
    }
    return rotated;
  }

  /** Withdraws a key at once (compromise): it is no longer published nor used. */
  async revoke(realm: string, kid: string): Promise<boolean> {
    const record = (await this.#store.list(realm)).find((r) => r.kid === kid);
    if (!record || record.revokedAt !== undefined) return false;
    await this.#store.put({ ...record, revokedAt: this.#clock.now() });
    await this.reload(realm);
    await this.#changes?.publish({ realm, kind: 'keys', id: '' });
    return true;
  }

  /** The key that signs at `now`: the last one (in activation order) that has activated. */
  #current(realm: string, now: number): LoadedKey | undefined {
    const keys = this.#loaded.get(realm)?.keys ?? [];
    let current: LoadedKey | undefined;
    for (const k of keys) if (k.record.activatesAt <= now) current = k;
    return current;
  }

  #isPublished(keys: LoadedKey[], i: number, realm: string, now: number): boolean {
    const k = keys[i]!;
    if (k.record.activatesAt > now) return true; // pre-published
    const successor = keys.slice(i + 1).find((s) => s.record.activatesAt <= now);
    if (!successor) return true; // the current key
    const maxTtlMs = (this.#realms.get(realm)?.tokens.maxTtlSeconds ?? 86400) * 1000;
    return now < successor.record.activatesAt + maxTtlMs + RETENTION_SKEW_MS;
  }

  async #add(record: SigningKeyRecord): Promise<void> {
    await this.#store.put(record);
    await this.reload(record.realm);
    await this.#changes?.publish({ realm: record.realm, kind: 'keys', id: '' });
  }
}
