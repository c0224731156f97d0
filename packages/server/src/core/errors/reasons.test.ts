/**
 * Every reason code thrown in the server (`.because('…')`, `authFailed('…')`, pre-proof refusals
 * `{ reason: '…' }`) appears in the REASONS table, and every code of the table in docs/errors.md.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REASONS, isReasonCode } from './reasons.ts';

const SRC = new URL('../../', import.meta.url).pathname;
const DOCS = new URL('../../../../../docs/errors.md', import.meta.url).pathname;

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const PATTERNS = [
  /\.because\(\s*'([a-z0-9_]+)'/g,
  /authFailed\(\s*'([a-z0-9_]+)'/g,
  /refused\(\s*(?:'[^']*'|`[^`]*`),\s*'([a-z0-9_]+)'/g,
  /\{ reason: '([a-z0-9_]+)', facts/g,
  /refusal: \{ reason: '([a-z0-9_]+)'/g,
];

describe('reason codes', () => {
  const thrown = new Map<string, string>();
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const re of PATTERNS) for (const m of text.matchAll(re)) thrown.set(m[1]!, file);
  }

  it('finds the codes thrown in the server (the scan works)', () => {
    for (const c of ['aud_mismatch', 'kid_not_found', 'signature_invalid', 'secret_mismatch', 'client_unknown', 'scope_not_allowed', 'multiple_methods', 'jti_replayed']) {
      assert.ok(thrown.has(c), `${c} not found by the scan`);
    }
  });

  it('every code thrown is in the REASONS table', () => {
    const missing = [...thrown].filter(([code]) => !isReasonCode(code)).map(([code, file]) => `${code} (${file})`);
    assert.deepEqual(missing, []);
  });

  it('every code has a one-line hint and is listed in docs/errors.md', () => {
    const doc = readFileSync(DOCS, 'utf8');
    for (const [code, hint] of Object.entries(REASONS)) {
      assert.ok(hint.length > 10 && !hint.includes('\n'), code);
      assert.ok(doc.includes(`\`${code}\``), `docs/errors.md lacks ${code}`);
    }
  });
});
