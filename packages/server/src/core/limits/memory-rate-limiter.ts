/** The single-process RateLimiter (the default): counts in this process only. Bounded in memory. */
import type { Clock, RateLimiter } from '../ports/index.ts';

export function createMemoryRateLimiter(options: { clock?: Clock; maxKeys?: number } = {}): RateLimiter {
  const now = () => options.clock?.now() ?? Date.now();
  const maxKeys = options.maxKeys ?? 100_000;
  const windows = new Map<string, { count: number; resetAt: number }>();
  return {
    async hit(key, windowMs) {
      const t = now();
      let w = windows.get(key);
      if (!w || w.resetAt <= t) {
        if (windows.size >= maxKeys) {
          for (const [k, v] of windows) if (v.resetAt <= t) windows.delete(k);
          if (windows.size >= maxKeys) windows.delete(windows.keys().next().value!);
        }
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
