/**
 * The dependency arrows of docs/architecture.md, checked mechanically: every relative import of
 * every source file must point where its folder may point.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = new URL('.', import.meta.url).pathname;

/** folder → folders (relative to src/) its files may import from. */
const ALLOWED: Record<string, string[]> = {
  shared: ['shared'],
  core: ['core', 'shared'],
  storage: ['storage', 'core/ports', 'core/errors', 'shared'],
  http: ['http', 'core', 'shared'],
  cli: ['cli', 'core', 'http', 'storage', 'shared'],
};
/** Packages a folder must not load (drivers and web frameworks stay out of the core). */
const FORBIDDEN_PACKAGES: Record<string, RegExp> = {
  core: /^(fastify|better-sqlite3|postgres|pg|ioredis|pino|express)$/,
  shared: /./,
};

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

it('imports follow the dependency arrows', () => {
  const violations: string[] = [];
  for (const file of files(SRC)) {
    const rel = relative(SRC, file);
    const top = rel.includes('/') ? rel.split('/')[0]! : '';
    if (!top || !(top in ALLOWED)) continue;
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/^\s*(?:import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
      const typeOnly = Boolean(m[1]);
      const spec = (m[2] ?? m[3])!;
      if (spec.startsWith('.')) {
        const target = relative(SRC, resolve(dirname(file), spec));
        if (!ALLOWED[top]!.some((a) => target === a || target.startsWith(a + '/') || target.startsWith(a + '.'))) violations.push(`${rel} → ${target}`);
        continue;
      }
      const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      if (!typeOnly && FORBIDDEN_PACKAGES[top]?.test(pkg)) violations.push(`${rel} → package ${pkg}`);
    }
  }
  assert.deepEqual(violations, []);
});
