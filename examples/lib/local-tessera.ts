/**
 * Starts a real Tessera process (`tessera serve`) on a free loopback port with the given config
 * (in-memory storage, nothing written to disk), and stops it again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';

export interface LocalTessera {
  issuer: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export async function startLocalTessera(config: Record<string, unknown>): Promise<LocalTessera> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'tessera-example-'));
  const file = join(dir, 'tessera.yaml');
  writeFileSync(file, stringify({ issuer, listen: { host: '127.0.0.1', port }, storage: { url: 'memory:' }, demo_client: false, ...config }));
  const bin = new URL('../../packages/server/bin/tessera.mjs', import.meta.url).pathname;
  const child: ChildProcess = spawn(process.execPath, [bin, 'serve', '--config', file], {
    env: { ...process.env, TESSERA_KEK: randomBytes(32).toString('hex'), TESSERA_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => output.includes('tessera listening') && (clearInterval(timer), resolve()), 50);
    child.once('exit', (code) => (clearInterval(timer), reject(new Error(`tessera exited with ${code}:\n${output}`))));
  });
  return {
    issuer,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
