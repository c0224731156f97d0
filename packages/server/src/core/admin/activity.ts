/**
 * Tokens issued and requests refused per minute, for the last hour, per realm and per client, as
 * this instance saw them (the console's activity chart). O(1) on the request path, no I/O, bounded
 * memory: a ring of 60 one-minute buckets per series, and at most `maxClients` client series per
 * realm (refusals naming random client ids cannot grow it; past the cap only the realm counts).
 */
export const ACTIVITY_MINUTES = 60;

interface Series {
  /** Minute number (ms / 60000) each bucket holds. */
  minute: Float64Array;
  issued: Uint32Array;
  failed: Uint32Array;
}

export interface ActivityView {
  /** Start of the first bucket, seconds since the epoch. */
  from: number;
  step_seconds: number;
  issued: number[];
  failures: number[];
}

const newSeries = (): Series => ({ minute: new Float64Array(ACTIVITY_MINUTES).fill(-1), issued: new Uint32Array(ACTIVITY_MINUTES), failed: new Uint32Array(ACTIVITY_MINUTES) });

export class ActivityCounter {
  readonly #now: () => number;
  readonly #maxClients: number;
  readonly #realms = new Map<string, { total: Series; clients: Map<string, Series> }>();

  constructor(now: () => number, maxClients = 1000) {
    this.#now = now;
    this.#maxClients = maxClients;
  }

  #bump(series: Series, which: 'issued' | 'failed', minute: number): void {
    const i = minute % ACTIVITY_MINUTES;
    if (series.minute[i] !== minute) {
      series.minute[i] = minute;
      series.issued[i] = 0;
      series.failed[i] = 0;
    }
    series[which][i]! += 1;
  }

  #count(realm: string, clientId: string | null, which: 'issued' | 'failed'): void {
    const minute = Math.floor(this.#now() / 60_000);
    let r = this.#realms.get(realm);
    if (!r) this.#realms.set(realm, (r = { total: newSeries(), clients: new Map() }));
    this.#bump(r.total, which, minute);
    if (clientId === null) return;
    let c = r.clients.get(clientId);
    if (!c && r.clients.size < this.#maxClients) r.clients.set(clientId, (c = newSeries()));
    if (c) this.#bump(c, which, minute);
  }

  issued(realm: string, clientId: string): void {
    this.#count(realm, clientId, 'issued');
  }

  failed(realm: string, clientId: string | null): void {
    this.#count(realm, clientId, 'failed');
  }

  /** The last `minutes` minutes (oldest first, the current minute last) of a realm or one of its clients. */
  view(realm: string, clientId: string | undefined, minutes: number): ActivityView {
    const current = Math.floor(this.#now() / 60_000);
    const r = this.#realms.get(realm);
    const series = r && (clientId === undefined ? r.total : r.clients.get(clientId));
    const issued: number[] = [];
    const failures: number[] = [];
    for (let m = current - minutes + 1; m <= current; m++) {
      const i = m % ACTIVITY_MINUTES;
      const hit = series !== undefined && series.minute[i] === m;
      issued.push(hit ? series.issued[i]! : 0);
      failures.push(hit ? series.failed[i]! : 0);
    }
    return { from: (current - minutes + 1) * 60, step_seconds: 60, issued, failures };
  }
}
