/**
 * Smoke test of the benchmark harness (`npm run bench`): a --quick run (one tiny client_secret_basic
 * run per server, then one tiny run of each Tessera-only scenario — workers, token reuse, many
 * clients (10,000 in quick mode), PostgreSQL (skipped when no server answers), soak — autocannon,
 * servers of a variant started together, about ten seconds in all) completes and writes its three
 * report files into the directory given with --out. It asserts shape, never timings.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;

function runHarness(args: string[], timeoutMs: number): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/run.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => void (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => void (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGINT'); // the harness stops its servers on SIGINT
      reject(new Error(`harness did not finish within ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const VARIANTS = ['workers', 'reuse', 'clients_1m', 'postgres', 'soak', 'observability'];

describe('bench harness --quick', () => {
  it('runs every server and every Tessera-only scenario once and writes latest.{json,md,svg} to --out', { timeout: 120_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'tessera-bench-smoke-'));
    try {
      const { code, stderr } = await runHarness(['--quick', '--scenarios', ['basic', ...VARIANTS].join(','), '--out', out], 110_000);
      assert.equal(code, 0, `harness failed:\n${stderr}`);
      for (const f of ['latest.json', 'latest.md', 'latest.svg']) assert.ok(existsSync(join(out, f)), `${f} written`);

      const report = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as {
        quick: boolean;
        machine: { cores: number; node: string };
        scenarios: Array<{ id: string; servers: Array<{ server: string; runs: Array<{ requests: number; non2xx: number; rps: number }> }> }>;
        startupMs: Record<string, number[]>;
        micro: Array<{ id: string; perSec: number[] }>;
        variants: Array<{
          id: string;
          skipped?: string;
          arms: Array<{ id: string; server: string; runs: Array<{ requests: number; non2xx: number; errors: number }> }>;
          ratios: Array<{ label: string; value: number; met?: boolean }>;
        }>;
        problems: string[];
      };
      assert.equal(report.quick, true);
      assert.equal(report.machine.node, process.version);
      assert.ok(report.machine.cores >= 1);
      assert.deepEqual(report.problems, []);
      assert.deepEqual(report.scenarios.map((s) => s.id), ['basic']);
      const servers = report.scenarios[0]!.servers;
      assert.deepEqual(servers.map((s) => s.server).sort(), ['ceiling', 'oidc-provider', 'tessera']);
      for (const s of servers) {
        assert.equal(s.runs.length, 1, `${s.server}: one run`);
        assert.ok(s.runs[0]!.requests > 0, `${s.server}: requests were sent`);
        assert.equal(s.runs[0]!.non2xx, 0, `${s.server}: no errors`);
      }
      assert.ok(report.startupMs.tessera?.length, 'serve → first token was timed');
      assert.deepEqual(report.micro.map((m) => m.id).sort(), ['node_crypto_verify', 'rs_verify_token_cache', 'rs_verify_warm_jwks', 'sdk_get_token_cached', 'sdk_get_token_renewal_due']);

      assert.deepEqual(report.variants.map((v) => v.id), VARIANTS);
      const expectedArms: Record<string, string[]> = {
        workers: ['workers_1', 'workers_2'],
        reuse: ['reuse', 'ceiling'],
        clients_1m: ['clients_10', 'clients_many', 'clients_many_cold'],
        postgres: ['pg_basic', 'pg_es256', 'pg_redis_es256'],
        soak: ['soak'],
        observability: ['obs_on_basic', 'obs_off_basic', 'obs_on_pkjwt_es256', 'obs_off_pkjwt_es256', 'obs_aa1_basic', 'obs_aa2_basic'],
      };
      for (const v of report.variants) {
        if (v.id === 'postgres' && v.skipped) continue; // no PostgreSQL here
        assert.equal(v.skipped, undefined, `${v.id} ran`);
        const arms = v.arms.map((a) => a.id);
        // Without Redis the PostgreSQL variant runs its first two arms only.
        assert.deepEqual(arms, v.id === 'postgres' ? expectedArms.postgres!.slice(0, arms.length) : expectedArms[v.id], `${v.id}: arms`);
        for (const a of v.arms) {
          assert.equal(a.runs.length, 1, `${v.id}/${a.id}: one run`);
          assert.ok(a.runs[0]!.requests > 0, `${v.id}/${a.id}: requests were sent`);
          assert.equal(a.runs[0]!.non2xx + a.runs[0]!.errors, 0, `${v.id}/${a.id}: no errors`);
        }
        assert.ok(v.ratios.length > 0 && v.ratios.every((r) => Number.isFinite(r.value)), `${v.id}: ratios computed`);
      }
      const soak = report.variants.find((v) => v.id === 'soak')!;
      assert.equal(soak.ratios.find((r) => /database growth/.test(r.label))?.met, true, 'no database growth per token');

      const md = readFileSync(join(out, 'latest.md'), 'utf8');
      assert.match(md, /\| client_secret_basic \|/);
      assert.match(md, /Tessera \/ oidc-provider/);
      assert.match(md, /## Tessera-only scenarios/);
      assert.match(md, /--workers 2 \/ --workers 1/);
      const svg = readFileSync(join(out, 'latest.svg'), 'utf8');
      assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      assert.match(svg, /<\/svg>\n$/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
