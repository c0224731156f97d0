/**
 * Clients as the token endpoint sees them: read once from storage, prepared (keys imported, the
 * client_secret_jwt key decrypted) and cached in memory. Entries leave the cache when the change
 * feed reports a change, and after a bounded lifetime as a safety net. Unknown ids are cached
 * briefly too, so a flood of made-up ids does not become a flood of reads.
 */
import type { ChangeFeed, ClientRecord, ClientStore, Clock } from '../ports/index.ts';
import type { KeyEncryptionKey } from '../crypto/kek.ts';
import { importClientKeys, type ClientKey } from './keys.ts';
import { secretAad } from './metadata.ts';

export interface PreparedClient {
  record: ClientRecord;
  /** Keys registered inline (`jwks`), imported. */
  keys: ClientKey[] | undefined;
  /** The HMAC key of a client_secret_jwt client. */
  hmacKey: Buffer | undefined;
  /** The previous secret's HMAC key during a rotation's overlap (until record.previousSecretExpiresAt). */
  previousHmacKey?: Buffer | undefined;
}

interface Entry {
  client: PreparedClient | undefined;
  expiresAt: number;
}

const NEGATIVE_TTL_MS = 5_000;

export class ClientRegistry {
  readonly #store: ClientStore;
  readonly #kek: KeyEncryptionKey;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #cache = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Promise<PreparedClient | undefined>>();
  #generation = 0;

  constructor(opts: { store: ClientStore; kek: KeyEncryptionKey; clock: Clock; ttlSeconds: number; changes?: ChangeFeed; maxEntries?: number }) {
    this.#store = opts.store;
    this.#kek = opts.kek;
    this.#clock = opts.clock;
    this.#ttlMs = opts.ttlSeconds * 1000;
    this.#maxEntries = opts.maxEntries ?? 200_000;
    opts.changes?.subscribe((e) => {
      if (e.kind === 'client') this.invalidate(e.realm, e.id);
      else if (e.kind === 'resync') this.clear();
    });
  }

  async get(realm: string, clientId: string): Promise<PreparedClient | undefined> {
    const key = `${realm}\0${clientId}`;
    const hit = this.#cache.get(key);
    if (hit && hit.expiresAt > this.#clock.now()) return hit.client;
    let p = this.#inFlight.get(key);
    if (!p) {
      const generation = this.#generation;
      p = this.#load(realm, clientId)
        .then((client) => {
          // A change that arrived while loading makes this read stale: don't cache it.
          if (generation === this.#generation) {
            if (this.#cache.size >= this.#maxEntries) this.#cache.clear();
            this.#cache.set(key, { client, expiresAt: this.#clock.now() + (client ? this.#ttlMs : Math.min(this.#ttlMs, NEGATIVE_TTL_MS)) });
          }
          return client;
        })
        .finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, p);
    }
    return p;
  }

  invalidate(realm: string, clientId: string): void {
    this.#generation++;
    this.#cache.delete(`${realm}\0${clientId}`);
  }

  clear(): void {
    this.#generation++;
    this.#cache.clear();
  }

  async #load(realm: string, clientId: string): Promise<PreparedClient | undefined> {
    const record = await this.#store.get(realm, clientId);
    if (!record) return undefined;
    return {
      record,
      keys: record.jwks ? importClientKeys(record.jwks.keys) : undefined,
      hmacKey: record.secretEncrypted ? this.#kek.decrypt(record.secretEncrypted, secretAad(realm, clientId)) : undefined,
      previousHmacKey: record.previousSecretEncrypted ? this.#kek.decrypt(record.previousSecretEncrypted, secretAad(realm, clientId)) : undefined,
    };
  }
}
