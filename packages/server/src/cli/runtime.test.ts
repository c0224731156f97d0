/**
 * What a CLI command's runtime does and does not start. A CLI command answers no token requests,
 * so it does not make the dummy keys of equal-cost refusals: an RSA key generation on the thread
 * pool kept `tessera keys rotate` alive after its answer, more than a second on a loaded machine.
 * (Each test file runs in its own process, so the module-level key cache starts empty.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openRuntime } from './runtime.ts';
import { dummyKeyCount } from '../core/client-auth/dummy.ts';

describe('openRuntime', () => {
  const env = { TESSERA_STORAGE_URL: 'memory:', TESSERA_KEK: randomBytes(32).toString('base64url'), TESSERA_ISSUER: 'http://127.0.0.1:9', TESSERA_DEMO_CLIENT: 'false' };

  it('a CLI runtime (serves: false) makes no dummy keys; a serving one makes them at start', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const cli = await openRuntime(undefined, { bootstrap: false });
      await cli.server.rotateKeys('default', { immediate: true });
      await cli.close();
      assert.equal(dummyKeyCount(), 0, 'a CLI command generated dummy keys');

      const serving = await openRuntime(undefined, { bootstrap: true, serves: true });
      assert.equal(dummyKeyCount(), 4, 'RSA, P-256, P-384 and Ed25519 dummy keys are made at start');
      await serving.close();
    } finally {
      process.env = saved;
    }
  });
});
