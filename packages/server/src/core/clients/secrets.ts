/**
 * Client secrets at rest and on the hot path. Scheme (docs/security.md explains why it is safe):
 * - secrets Tessera generates carry 256 bits of entropy and are stored as SHA-256 (`sha256$…`):
 *   no KDF is needed when guessing the preimage is infeasible;
 * - secrets a person chose (config file, CLI `--secret`) are stored with scrypt (`scrypt$…`), so a
 *   stolen database does not reveal a weak secret. After one successful scrypt check, the process
 *   keeps only an HMAC of the secret under a per-process random key, so later requests cost one
 *   HMAC instead of a KDF. Nothing of it is persisted.
 * Every comparison is constant-time.
 * Verification KDF work is capped globally (issue 13 item 5): at most `kdf.maxConcurrent` scrypt
 * runs at once and a bounded queue; beyond that a request fails fast with 503 + Retry-After, so
 * wrong guesses can never fill the thread pool that token signatures use.
 */
import { createHash, createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { TemporarilyUnavailableError } from '../errors/index.ts';
import { BusyError, Semaphore, type ConcurrencyLimit } from '../limits/concurrency.ts';

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

export function generateSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

function scrypt(secret: string, salt: Buffer, N: number, r: number, p: number, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(secret, salt, keylen, { N, r, p, maxmem: 256 * N * r }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Hashes a secret for storage. `generated` secrets (≥ 256-bit random) get the fast scheme. */
export async function hashSecret(secret: string, generated: boolean): Promise<string> {
  if (generated) return `sha256$${createHash('sha256').update(secret, 'utf8').digest('base64url')}`;
  const salt = randomBytes(16);
  const { N, r, p, keylen } = SCRYPT;
  const key = await scrypt(secret, salt, N, r, p, keylen);
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** A hash that can never match, compared against when the client is unknown (same work, same time). */
const DUMMY_SHA256 = Buffer.alloc(32, 0);

/** Default cap on concurrent verification KDF work (the thread pool has 2 threads by default). */
export const DEFAULT_KDF_LIMIT: ConcurrencyLimit = { maxConcurrent: 1, maxQueue: 8, maxWaitMs: 5000 };

export interface SecretVerifierOptions {
  /** Most remembered scrypt verifications (the memo is dropped past it). */
  maxEntries?: number;
  kdf?: ConcurrencyLimit;
}

/**
 * Verifies presented secrets against stored hashes, remembering successful scrypt verifications
 * as per-process HMACs. Bounded: the memo is dropped when it grows past `maxEntries`.
 */
export class SecretVerifier {
  readonly #memoKey = randomBytes(32);
  readonly #memo = new Map<string, Buffer>();
  readonly #inFlight = new Map<string, Promise<boolean>>();
  readonly #maxEntries: number;
  readonly #kdf: Semaphore;

  constructor(options: SecretVerifierOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 100_000;
    this.#kdf = new Semaphore(options.kdf ?? DEFAULT_KDF_LIMIT);
  }

  /** Resolves true when `presented` matches `stored`; `stored` undefined always resolves false. */
  async verify(stored: string | undefined, presented: string): Promise<boolean> {
    if (stored === undefined) {
      timingSafeEqual(createHash('sha256').update(presented, 'utf8').digest(), DUMMY_SHA256);
      return false;
    }
    if (stored.startsWith('sha256$')) {
      const expected = Buffer.from(stored.slice(7), 'base64url');
      const actual = createHash('sha256').update(presented, 'utf8').digest();
      return expected.length === actual.length && timingSafeEqual(expected, actual);
    }
    if (stored.startsWith('scrypt$')) return this.#verifyScrypt(stored, presented);
    return false;
  }

  async #verifyScrypt(stored: string, presented: string): Promise<boolean> {
    const mac = createHmac('sha256', this.#memoKey).update(stored).update('\0').update(presented, 'utf8').digest();
    const memo = this.#memo.get(stored);
    if (memo) return timingSafeEqual(memo, mac);
    // Concurrent requests presenting the same secret share one scrypt (16 MiB, ~50 ms each).
    const flightKey = mac.toString('base64url');
    let flight = this.#inFlight.get(flightKey);
    if (!flight) {
      flight = this.#scryptCheck(stored, presented, mac).finally(() => this.#inFlight.delete(flightKey));
      this.#inFlight.set(flightKey, flight);
    }
    return flight;
  }

  async #scryptCheck(stored: string, presented: string, mac: Buffer): Promise<boolean> {
    const parts = stored.split('$');
    if (parts.length !== 6) return false;
    const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
    const expected = Buffer.from(hash, 'base64url');
    let actual: Buffer;
    try {
      actual = await this.#kdf.run(() => scrypt(presented, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p), expected.length));
    } catch (err) {
      if (!(err instanceof BusyError)) throw err;
      throw new TemporarilyUnavailableError('the server is busy; retry later', `secret verification refused: ${err.message}`, err.retryAfterSeconds).because('kdf_busy', {
        running: this.#kdf.running,
        waiting: this.#kdf.waiting,
      });
    }
    const ok = expected.length === actual.length && timingSafeEqual(expected, actual);
    if (ok) {
      if (this.#memo.size >= this.#maxEntries) this.#memo.clear();
      this.#memo.set(stored, mac);
    }
    return ok;
  }
}
