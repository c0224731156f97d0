/**
 * The single-process RateLimiter (the default): counts in this process only.
 *
 * Bounded and O(1) per hit whatever an attacker sends: windows live in a Map kept in the order
 * they started (a restarted window moves to the end), so the oldest window is always first.
 * Each hit drops at most a few expired windows from the front, and when the map is full the
 * oldest window is evicted — no scan of the map, ever. (The former version scanned every key
 * once full: a flood of unknown client ids made each request O(maxKeys); issue 13 item 1.)
 */
import type { Clock, RateLimiter } from '../ports/index.ts';

/** Expired windows dropped per hit at most; keeps the amortised cost constant. */
const SWEEP_PER_HIT = 4;

export function createMemoryRateLimiter(options: { clock?: Clock; maxKeys?: number } = {}): RateLimiter {
  const now = () => options.clock?.now() ?? Date.now();
  const maxKeys = Math.max(1, options.maxKeys ?? 100_000);
  const windows = new Map<string, { count: number; resetAt: number }>();
  return {
    async hit(key, windowMs) {
      const t = now();
      let swept = 0;
      for (const [k, v] of windows) {
        if (v.resetAt > t || swept >= SWEEP_PER_HIT) break;
        windows.delete(k);
        swept++;
      }
      let w = windows.get(key);
      if (w && w.resetAt <= t) {
        windows.delete(key);
        w = undefined;
      }
      if (!w) {
        if (windows.size >= maxKeys) windows.delete(windows.keys().next().value!);
        w = { count: 0, resetAt: t + windowMs };
        windows.set(key, w);
      }
      w.count++;
      return { count: w.count, resetAt: w.resetAt };
    },
    async close() {
      windows.clear();
    },
  };
}
