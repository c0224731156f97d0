/**
 * `tessera serve` stops promptly under slow-body connections (issue 13 item 2): SIGTERM with 20
 * connections trickling request bodies exits 0 well before the 10 s shutdown deadline.
 */
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type Socket } from 'node:net';

const BIN = new URL('../../bin/tessera.mjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'tessera-shutdown-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('SIGTERM with 20 slow-body connections open exits 0 promptly', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  const child = spawn(process.execPath, [BIN, 'serve'], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TESSERA_PORT: String(port), TESSERA_ISSUER: `http://127.0.0.1:${port}`, TESSERA_STORAGE_URL: 'memory:', TESSERA_KEK_FILE: join(dir, 'kek.key'), TESSERA_LOG_LEVEL: 'info', TESSERA_MANAGEMENT_LISTEN: '127.0.0.1:0' },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    for (let i = 0; i < 400 && !out.includes('tessera listening'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(out.includes('tessera listening'), out);
    for (let i = 0; i < 100 && !out.includes('management listening'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(out.includes('management listening'), 'the management listener is open too, and must not hold the shutdown');
    const sockets: Socket[] = [];
    for (let i = 0; i < 20; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.write('POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant_type=');
      const drip = setInterval(() => (s.destroyed ? clearInterval(drip) : s.write('a')), 200);
      s.on('close', () => clearInterval(drip));
      sockets.push(s);
    }
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    child.kill('SIGTERM');
    const code = await exited;
    const took = performance.now() - t0;
    assert.equal(code, 0, out);
    assert.ok(took < 5000, `stopped in ${Math.round(took)} ms`);
    for (const s of sockets) s.destroy();
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
