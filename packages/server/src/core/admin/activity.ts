/**
 * Tokens issued and requests refused per minute, for the last hour, per realm and per client (the
 * console's activity chart), summed over every instance of a cluster. The request path only bumps
 * a counter in memory (O(1), no I/O); every few seconds the instance adds what it counted to the
 * shared ActivityStore, and a view reads the store plus what this instance has not written yet.
 * Bounded: at most `maxClients` distinct client series per realm between two flushes (past the
 * cap only the realm's totals count); a refusal for a client id that does not exist counts in the
 * realm's total only (the server passes no client), so invented ids make no series at all.
 */
import type { ActivityDelta, ActivityStore } from '../ports/index.ts';

export const ACTIVITY_MINUTES = 60;

export interface ActivityView {
  /** Start of the first bucket, seconds since the epoch. */
  from: number;
  step_seconds: number;
  issued: number[];
  failures: number[];
}

export class ActivityCounter {
  readonly #now: () => number;
  readonly #maxClients: number;
  readonly #store: ActivityStore | undefined;
  /** Not yet written: key realm \0 client ('' for the realm) \0 minute. */
  #pending = new Map<string, ActivityDelta>();
  /** Distinct client series per realm in #pending. */
  #clients = new Map<string, Set<string>>();
  #flushing: Promise<void> | undefined;

  constructor(now: () => number, maxClients = 1000, store?: ActivityStore) {
    this.#now = now;
    this.#maxClients = maxClients;
    this.#store = store;
  }

  #bump(realm: string, clientId: string | null, minute: number, which: 'issued' | 'failed'): void {
    const key = `${realm}\0${clientId ?? ''}\0${minute}`;
    let d = this.#pending.get(key);
    if (!d) this.#pending.set(key, (d = { realm, clientId, minute, issued: 0, failed: 0 }));
    d[which] += 1;
  }

  #count(realm: string, clientId: string | null, which: 'issued' | 'failed'): void {
    const minute = Math.floor(this.#now() / 60_000);
    this.#bump(realm, null, minute, which);
    if (clientId === null) return;
    let seen = this.#clients.get(realm);
    if (!seen) this.#clients.set(realm, (seen = new Set()));
    if (!seen.has(clientId)) {
      if (seen.size >= this.#maxClients) return;
      seen.add(clientId);
    }
    this.#bump(realm, clientId, minute, which);
  }

  issued(realm: string, clientId: string): void {
    this.#count(realm, clientId, 'issued');
  }

  failed(realm: string, clientId: string | null): void {
    this.#count(realm, clientId, 'failed');
  }

  /**
   * Adds what this instance counted to the shared store. On a storage failure the counts are kept
   * for the next flush (bounded by the client cap and the minutes of an hour).
   */
  flush(): Promise<void> {
    if (!this.#store || this.#pending.size === 0) return this.#flushing ?? Promise.resolve();
    if (this.#flushing) return this.#flushing.then(() => this.flush());
    const batch = this.#pending;
    const store = this.#store;
    this.#pending = new Map();
    this.#clients = new Map();
    this.#flushing = store
      .add([...batch.values()])
      .catch(() => {
        const oldest = Math.floor(this.#now() / 60_000) - ACTIVITY_MINUTES;
        for (const [key, d] of batch) {
          if (d.minute <= oldest) continue;
          const mine = this.#pending.get(key);
          if (mine) {
            mine.issued += d.issued;
            mine.failed += d.failed;
          } else this.#pending.set(key, d);
        }
      })
      .finally(() => {
        this.#flushing = undefined;
      });
    return this.#flushing;
  }

  /** The last `minutes` minutes (oldest first, the current minute last) of a realm or one of its clients. */
  async view(realm: string, clientId: string | undefined, minutes: number): Promise<ActivityView> {
    const current = Math.floor(this.#now() / 60_000);
    const from = current - minutes + 1;
    const issued = new Array<number>(minutes).fill(0);
    const failures = new Array<number>(minutes).fill(0);
    const add = (minute: number, i: number, f: number) => {
      if (minute < from || minute > current) return;
      issued[minute - from]! += i;
      failures[minute - from]! += f;
    };
    if (this.#store) for (const r of await this.#store.range(realm, clientId ?? null, from, current)) add(r.minute, r.issued, r.failed);
    for (const d of this.#pending.values()) if (d.realm === realm && d.clientId === (clientId ?? null)) add(d.minute, d.issued, d.failed);
    return { from: from * 60, step_seconds: 60, issued, failures };
  }
}
