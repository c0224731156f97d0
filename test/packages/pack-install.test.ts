/**
 * The packages as a user gets them: every workspace package is built and packed (`npm pack`), the
 * tarballs are installed into fresh temporary projects, and the installs are used the way an
 * application would use them.
 *
 * - Offline: the installs resolve against a registry on loopback (test/fixtures/lock-registry.mjs)
 *   that knows the versions the workspace's lockfile holds, and take the tarballs from the npm cache
 *   that the workspace's own install filled. The test never reaches the network.
 * - Isolated: the build runs in a staging copy of the packages (sources, package.json, LICENSE; the
 *   workspace's node_modules linked in), so the suites that import the workspace's own dist/ while
 *   this test runs never see a half-written build.
 * - The server's native addon: better-sqlite3 compiles from source where no prebuilt binary can be
 *   had (about three minutes on this machine). The server project is installed with
 *   `--ignore-scripts`, and the addon the workspace install compiled is copied in, after checking
 *   that both installs resolved the same better-sqlite3 version (same sources, same Node ABI).
 *   Everything else in that install is the tarball's own code and its registry dependencies.
 *
 * Run time on this machine: about 1–2 minutes, most of it the build (tsup twice, tsc once) and tsc.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';

const workspace = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const PACKAGES = ['client', 'resource-server', 'server'] as const;
type PackageDir = (typeof PACKAGES)[number];
const LIBRARIES = ['client', 'resource-server'] as const;
const DRIVERS = ['better-sqlite3', 'postgres', 'pg', 'ioredis', 'redis', 'mysql2', 'sqlite3'];

interface PackageJson {
  name: string;
  version: string;
  exports: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
  tsup?: { entry: string[] | Record<string, string> };
}

/** A child environment without the outer npm's and test runner's settings. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || k.startsWith('TESSERA_') || k === 'NODE_TEST_CONTEXT' || k === 'NODE_OPTIONS' || k === 'INIT_CWD') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], cwd: string, extra: Record<string, string> = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env: cleanEnv(extra), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return r;
}

function ok(cmd: string, args: string[], cwd: string, extra: Record<string, string> = {}): SpawnSyncReturns<string> {
  const r = run(cmd, args, cwd, extra);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/** Every package installed under node_modules (scoped ones included, nested ones too). */
function installedPackages(nodeModules: string): Map<string, PackageJson & { path: string }> {
  const found = new Map<string, PackageJson & { path: string }>();
  const visit = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.')) continue;
      if (name.startsWith('@')) {
        for (const sub of readdirSync(join(dir, name))) add(join(dir, name, sub));
      } else add(join(dir, name));
    }
  };
  const add = (path: string) => {
    const pj = join(path, 'package.json');
    if (!existsSync(pj)) return;
    const pkg = readJson<PackageJson>(pj);
    found.set(`${pkg.name}@${pkg.version}@${path}`, { ...pkg, path });
    visit(join(path, 'node_modules'));
  };
  visit(nodeModules);
  return found;
}

function filesUnder(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) filesUnder(p, out);
    else out.push(p);
  }
  return out;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** The export subpaths a package.json declares (other than ./package.json). */
const subpaths = (pkg: PackageJson) => Object.keys(pkg.exports).filter((k) => k !== './package.json');
const specifier = (name: string, subpath: string) => (subpath === '.' ? name : `${name}/${subpath.slice(2)}`);

describe('npm pack + install of every package (offline: loopback registry, cached tarballs)', { timeout: 600_000 }, () => {
  let tmp: string;
  const tarball = {} as Record<PackageDir, string>;
  const manifest = {} as Record<PackageDir, PackageJson>;
  let libProject: string;
  let libInstallLog = '';
  let serverProject: string;
  let serverInstallLog = '';
  let serverProcess: ChildProcess | undefined;
  let registry: ChildProcess | undefined;
  let registryUrl = '';

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'tessera-pack-'));
    registry = spawn(process.execPath, [join(workspace, 'test/fixtures/lock-registry.mjs'), join(workspace, 'package-lock.json')], { stdio: ['ignore', 'pipe', 'inherit'] });
    registryUrl = await new Promise<string>((resolve, reject) => {
      registry!.stdout!.once('data', (d) => resolve((JSON.parse(String(d)) as { url: string }).url));
      registry!.once('exit', (code) => reject(new Error(`lock-registry exited ${code}`)));
    });
    // Staging copy: the root manifest, tsconfig, build script and the packages' sources.
    const staging = join(tmp, 'staging');
    mkdirSync(join(staging, 'scripts'), { recursive: true });
    for (const f of ['package.json', 'tsconfig.json', 'LICENSE']) cpSync(join(workspace, f), join(staging, f));
    cpSync(join(workspace, 'scripts/build.mjs'), join(staging, 'scripts/build.mjs'));
    for (const dir of PACKAGES) {
      cpSync(join(workspace, 'packages', dir), join(staging, 'packages', dir), {
        recursive: true,
        filter: (src) => !/\/(node_modules|dist)(\/|$)/.test(src.slice(join(workspace, 'packages', dir).length)),
      });
    }
    // node_modules: the workspace's, except that @tessera-auth/* are the staging packages.
    const nm = join(staging, 'node_modules');
    mkdirSync(join(nm, '@tessera-auth'), { recursive: true });
    for (const name of readdirSync(join(workspace, 'node_modules'))) {
      if (name === '@tessera-auth') continue;
      symlinkSync(join(workspace, 'node_modules', name), join(nm, name));
    }
    for (const dir of PACKAGES) symlinkSync(join(staging, 'packages', dir), join(nm, '@tessera-auth', dir));

    ok(process.execPath, ['scripts/build.mjs'], staging);
    const tgz = join(tmp, 'tgz');
    mkdirSync(tgz);
    const packed = ok('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tgz, ...PACKAGES.flatMap((d) => ['-w', `packages/${d}`])], staging);
    const list = JSON.parse(packed.stdout) as { name: string; filename: string }[];
    for (const dir of PACKAGES) {
      manifest[dir] = readJson<PackageJson>(join(staging, 'packages', dir, 'package.json'));
      const entry = list.find((p) => p.name === manifest[dir].name);
      assert.ok(entry, `npm pack made no tarball for ${manifest[dir].name}`);
      tarball[dir] = join(tgz, entry.filename);
    }
  });

  after(async () => {
    if (serverProcess && serverProcess.exitCode === null) {
      serverProcess.kill('SIGTERM');
      await new Promise((resolve) => serverProcess!.once('exit', resolve));
    }
    if (registry && registry.exitCode === null) {
      registry.kill('SIGTERM');
      await new Promise((resolve) => registry!.once('exit', resolve));
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('each tarball holds its compiled code, types and LICENSE, and no sources or tests', () => {
    for (const dir of PACKAGES) {
      const files = ok('tar', ['tzf', tarball[dir]], tmp).stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
      assert.ok(files.includes('LICENSE'), `${dir}: LICENSE`);
      assert.match(readFileSync(join(workspace, 'packages', dir, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/);
      assert.ok(files.includes('package.json'));
      for (const f of files) {
        assert.doesNotMatch(f, /(^|\/)src\//, `${dir}: ships a source file ${f}`);
        assert.doesNotMatch(f, /\.test\.|(^|\/)test\/|(^|\/)contract\//, `${dir}: ships a test file ${f}`);
        assert.doesNotMatch(f, /\.map$|\.ts$(?<!\.d\.ts)|\.tsbuildinfo$/, `${dir}: ships ${f}`);
      }
      // Every target of the exports map is in the tarball, and each conditional entry names its types first.
      const targets: string[] = [];
      const walk = (node: unknown, where: string) => {
        if (typeof node === 'string') return void targets.push(node);
        const keys = Object.keys(node as object);
        if (keys.includes('default')) assert.equal(keys[0], 'types', `${dir}: exports ${where} has no types condition first`);
        for (const [k, v] of Object.entries(node as object)) walk(v, `${where}.${k}`);
      };
      walk(manifest[dir].exports, 'exports');
      for (const t of targets) assert.ok(files.includes(t.replace(/^\.\//, '')), `${dir}: exports names ${t}, missing from the tarball`);
    }
    for (const dir of LIBRARIES) {
      const pkg = manifest[dir] as PackageJson & { sideEffects?: unknown };
      assert.equal(pkg.sideEffects, false, `${dir}: sideEffects`);
      assert.deepEqual(Object.keys(pkg.dependencies ?? {}), ['jose'], `${dir}: depends on jose alone`);
      // Each tsup entry is a subpath with ESM and CommonJS flavours, each with its own types.
      const tsupEntry = pkg.tsup!.entry;
      const names = Array.isArray(tsupEntry) ? tsupEntry.map((e) => e.replace(/^.*\//, '').replace(/\.[cm]?tsx?$/, '')) : Object.keys(tsupEntry);
      for (const name of names) {
        const sub = name === 'index' ? '.' : `./${name}`;
        assert.deepEqual(pkg.exports[sub], {
          import: { types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` },
          require: { types: `./dist/${name}.d.cts`, default: `./dist/${name}.cjs` },
        }, `${dir}: exports[${sub}]`);
      }
    }
    const files = ok('tar', ['tzf', tarball.server], tmp).stdout;
    assert.match(files, /package\/dist\/storage\/sqlite\/migrations\/001_\w+\.sql/, 'SQLite migrations in the server tarball');
    assert.match(files, /package\/dist\/storage\/postgres\/migrations\/001_\w+\.sql/, 'PostgreSQL migrations in the server tarball');
    assert.match(files, /package\/bin\/tessera\.mjs/);
    assert.ok(!('tsx' in (manifest.server.dependencies ?? {})), 'tsx is not a runtime dependency of the server');
    assert.ok('@tessera-auth/client' in (manifest.server.dependencies ?? {}), 'the server depends on the client (tessera token)');
  });

  test('client + resource-server install: jose alone, no native build, no database driver, no EBADENGINE', () => {
    libProject = join(tmp, 'app');
    mkdirSync(libProject);
    writeFileSync(join(libProject, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    const r = ok('npm', ['install', '--registry', registryUrl, '--no-audit', '--no-fund', tarball.client, tarball['resource-server']], libProject);
    libInstallLog = r.stdout + r.stderr;
    assert.doesNotMatch(libInstallLog, /EBADENGINE/);
    const installed = [...installedPackages(join(libProject, 'node_modules')).values()];
    assert.deepEqual(installed.map((p) => p.name).sort(), ['@tessera-auth/client', '@tessera-auth/resource-server', 'jose'],
      'exactly three packages installed');
    for (const p of installed) {
      assert.ok(!DRIVERS.includes(p.name), `database driver ${p.name}`);
      for (const hook of ['preinstall', 'install', 'postinstall']) assert.equal(p.scripts?.[hook], undefined, `${p.name} has an ${hook} script`);
      const native = filesUnder(p.path).filter((f) => /binding\.gyp$|\.node$/.test(f));
      assert.deepEqual(native, [], `${p.name} carries native code`);
    }
    // The type checks below need Node's types and nothing else (TypeScript itself is the workspace's).
    const typesNode = readJson<PackageJson>(join(workspace, 'node_modules/@types/node/package.json')).version;
    const t = ok('npm', ['install', '--registry', registryUrl, '--no-audit', '--no-fund', '-D', `@types/node@${typesNode}`], libProject);
    assert.doesNotMatch(t.stdout + t.stderr, /EBADENGINE/);
  });

  test('every export subpath loads with import (ESM) and require (CommonJS), with the same names', () => {
    assert.ok(libProject, 'installed by the previous test');
    for (const dir of LIBRARIES) {
      const { name } = manifest[dir];
      for (const sub of subpaths(manifest[dir])) {
        const spec = specifier(name, sub);
        const esmArgs = ['--input-type=module', '-e', `const m = await import(${JSON.stringify(spec)}); console.log(JSON.stringify(Object.keys(m).filter((k) => k !== 'default').sort()))`];
        const tried = run(process.execPath, esmArgs, libProject);
        // An adapter whose framework is needed at run time (the NestJS guard throws Nest's own
        // exceptions) loads only where that optional peer is installed: anything else is a failure.
        const missingPeer = /Cannot find package '([^']+)'/.exec(tried.stderr)?.[1];
        if (tried.status !== 0 && missingPeer && manifest[dir].peerDependencies?.[missingPeer]) continue;
        const esm = ok(process.execPath, esmArgs, libProject);
        const cjs = ok(process.execPath, ['-e', `const m = require(${JSON.stringify(spec)}); console.log(JSON.stringify(Object.keys(m).sort()))`], libProject);
        const esmNames = JSON.parse(esm.stdout) as string[];
        assert.ok(esmNames.length > 0, `${spec}: exports something`);
        assert.deepEqual(JSON.parse(cjs.stdout), esmNames, `${spec}: CommonJS and ESM export the same names`);
      }
    }
    const names = JSON.parse(ok(process.execPath, ['--input-type=module', '-e',
      `import { TokenClient } from '@tessera-auth/client'; import { createVerifier } from '@tessera-auth/resource-server'; console.log(JSON.stringify([typeof TokenClient, typeof createVerifier]))`], libProject).stdout);
    assert.deepEqual(names, ['function', 'function']);
  });

  // The middleware's root entry must type-check without any framework's types installed: the
  // adapters live in their own subpaths. Until the resource-server's adapters move out of its root
  // entry (branch wt/rs), this check is reported as a todo instead of failing.
  const rootNamesFramework = () =>
    /from '(express|fastify)'/.test(readFileSync(join(libProject, 'node_modules/@tessera-auth/resource-server/dist/index.d.ts'), 'utf8'));

  test('tsc --noEmit with strict + exactOptionalPropertyTypes under node16, nodenext and bundler', (t) => {
    assert.ok(libProject, 'installed by the previous test');
    const tsc = join(workspace, 'node_modules/typescript/bin/tsc');
    const consumer = `
import { TokenClient, TokenError, type AccessToken, type TokenClientOptions } from '@tessera-auth/client';
import { createVerifier, BearerError, type VerifiedAccessToken, type VerifierOptions } from '@tessera-auth/resource-server';

const clientOptions: TokenClientOptions = {
  issuer: 'https://as.example',
  clientId: 'billing',
  auth: { method: 'client_secret_basic', clientSecret: 'secret' },
};
const client = new TokenClient(clientOptions);
const verifierOptions: VerifierOptions = { issuer: 'https://as.example', audience: 'https://api.example' };
const verifier = createVerifier(verifierOptions);

export async function roundTrip(): Promise<string[]> {
  try {
    const token: AccessToken = await client.getToken({ scope: 'invoices:read' });
    const verified: VerifiedAccessToken = await verifier.verify(token.accessToken);
    return [verified.clientId, ...verified.scopes];
  } catch (err) {
    if (err instanceof TokenError || err instanceof BearerError) return [err.message];
    throw err;
  }
}
`;
    const base = { strict: true, exactOptionalPropertyTypes: true, noEmit: true, skipLibCheck: false, types: ['node'], target: 'ES2022' };
    // CommonJS consumers: jose is ESM only, so the CommonJS flavour loads it through require(esm)
    // (Node ≥ 20.19). TypeScript models that under nodenext (≥ 5.8), not under node16, which is
    // Node 16's module system: node16 is checked with the ESM consumer.
    const variants = [
      { name: 'node16', options: { module: 'node16', moduleResolution: 'node16' }, files: ['consumer.mts'] },
      { name: 'nodenext', options: { module: 'nodenext', moduleResolution: 'nodenext' }, files: ['consumer.mts', 'consumer.cts'] },
      { name: 'bundler', options: { module: 'esnext', moduleResolution: 'bundler' }, files: ['consumer.ts'] },
    ];
    writeFileSync(join(libProject, 'consumer.mts'), consumer);
    writeFileSync(join(libProject, 'consumer.cts'), consumer);
    writeFileSync(join(libProject, 'consumer.ts'), consumer);
    const errors: string[] = [];
    for (const v of variants) {
      const config = join(libProject, `tsconfig.${v.name}.json`);
      writeFileSync(config, JSON.stringify({ compilerOptions: { ...base, ...v.options }, files: v.files }));
      const r = run(process.execPath, [tsc, '-p', config], libProject);
      if (r.status !== 0) errors.push(...`${r.stdout}${r.stderr}`.trim().split('\n').map((line) => `${v.name}: ${line}`));
    }
    const pending = rootNamesFramework() ? errors.filter((e) => /resource-server\/dist\/index\.d\.c?ts.*TS2307.*'(express|fastify)'/.test(e)) : [];
    if (pending.length > 0) t.todo(`the resource-server root entry still imports express/fastify types (${pending.length} TS2307)`);
    assert.deepEqual(errors.filter((e) => !pending.includes(e)), []);
    assert.deepEqual(pending, []);
  });

  test('the server from its tarball: no tsx, --version, --help, clients create, serve on SQLite, a token', async () => {
    serverProject = join(tmp, 'server');
    mkdirSync(serverProject);
    writeFileSync(join(serverProject, 'package.json'), JSON.stringify({ name: 'ops', version: '1.0.0', private: true }));
    const r = ok('npm', ['install', '--registry', registryUrl, '--ignore-scripts', '--no-audit', '--no-fund', tarball.server, tarball.client], serverProject);
    serverInstallLog = r.stdout + r.stderr;
    const nm = join(serverProject, 'node_modules');
    // The native addon: the workspace's compiled one, for the very same better-sqlite3 version.
    const mine = readJson<PackageJson>(join(workspace, 'node_modules/better-sqlite3/package.json')).version;
    const theirs = readJson<PackageJson>(join(nm, 'better-sqlite3/package.json')).version;
    assert.equal(theirs, mine, 'the tarball install resolved another better-sqlite3 than the workspace (rebuild it instead)');
    mkdirSync(join(nm, 'better-sqlite3/build/Release'), { recursive: true });
    cpSync(join(workspace, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'), join(nm, 'better-sqlite3/build/Release/better_sqlite3.node'));

    assert.ok(!existsSync(join(nm, 'tsx')), 'tsx installed with the server');
    assert.ok(!existsSync(join(nm, '@tessera-auth/server/src')), 'sources installed with the server');
    const bin = join(nm, '.bin/tessera');
    const version = ok(bin, ['--version'], serverProject).stdout.trim();
    assert.equal(version, manifest.server.version);
    const help = ok(bin, ['--help'], serverProject).stdout;
    for (const command of ['serve', 'migrate', 'clients', 'keys', 'token']) assert.match(help, new RegExp(`^\\s+${command}\\b`, 'm'));

    // The library API of the server package: ESM import, and require() of the ESM (Node ≥ 20.19).
    const esm = ok(process.execPath, ['--input-type=module', '-e',
      `const m = await import('@tessera-auth/server'); const s = await import('@tessera-auth/server/storage/sqlite'); console.log(typeof m.createAuthorizationServer, typeof m.buildApp, Object.keys(s).length > 0)`], serverProject);
    assert.equal(esm.stdout.trim(), 'function function true');
    const cjs = ok(process.execPath, ['--no-warnings', '-e', `const m = require('@tessera-auth/server'); console.log(typeof m.createAuthorizationServer)`], serverProject);
    assert.equal(cjs.stdout.trim(), 'function');
    // Its types, as an embedding application compiles them (nodenext, strict, exactOptionalPropertyTypes).
    const typesNode = readJson<PackageJson>(join(workspace, 'node_modules/@types/node/package.json')).version;
    ok('npm', ['install', '--registry', registryUrl, '--ignore-scripts', '--no-audit', '--no-fund', '-D', `@types/node@${typesNode}`], serverProject);
    writeFileSync(join(serverProject, 'embed.mts'), `
import { buildApp, createAuthorizationServer, createMemoryStorage, resolveConfig, OAuthError, type ServerOptions } from '@tessera-auth/server';
import { createSqliteStorage } from '@tessera-auth/server/storage/sqlite';
export type Options = ServerOptions;
export const api = [buildApp, createAuthorizationServer, createMemoryStorage, resolveConfig, createSqliteStorage] as const;
export const isOAuthError = (e: unknown): e is OAuthError => e instanceof OAuthError;
`);
    writeFileSync(join(serverProject, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, exactOptionalPropertyTypes: true, noEmit: true, skipLibCheck: false, types: ['node'], target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext' },
      files: ['embed.mts'],
    }));
    const tsc = run(process.execPath, [join(workspace, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], serverProject);
    assert.equal(tsc.status, 0, `tsc on the server's types:\n${tsc.stdout}${tsc.stderr}`);

    const home = join(serverProject, 'run');
    mkdirSync(home);
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const env = { TESSERA_ISSUER: issuer, TESSERA_PORT: String(port), TESSERA_HOST: '127.0.0.1', TESSERA_DEMO_CLIENT: 'false', TESSERA_LOG_LEVEL: 'warn' };
    const created = JSON.parse(ok(bin, ['clients', 'create', '--id', 'pkg-test', '--scope', 'invoices:read'], home, env).stdout) as { client_secret: string };
    assert.ok(existsSync(join(home, 'data/tessera.db')), 'SQLite database under ./data');

    const child = spawn(bin, ['serve'], { cwd: home, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    serverProcess = child;
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    const deadline = Date.now() + 30_000;
    for (;;) {
      assert.equal(child.exitCode, null, `tessera serve exited:\n${output}`);
      const ready = await fetch(`${issuer}/readyz`).then((res) => res.ok, () => false);
      if (ready) break;
      assert.ok(Date.now() < deadline, `tessera serve not ready after 30 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const res = await fetch(`${issuer}/oauth2/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`pkg-test:${created.client_secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=invoices%3Aread',
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { access_token: string; token_type: string; scope: string };
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.access_token.split('.').length, 3);

    // The installed SDK gets a token from the installed server, and the installed middleware verifies
    // it: once as ESM, once as CommonJS.
    const script = (loader: 'import' | 'require') => `
      const load = ${loader === 'import' ? '(s) => import(s)' : 'async (s) => require(s)'};
      (async () => {
        const { TokenClient } = await load('@tessera-auth/client');
        const { createVerifier } = await load('@tessera-auth/resource-server');
        const client = new TokenClient({ issuer: ${JSON.stringify(issuer)}, clientId: 'pkg-test', auth: { method: 'client_secret_basic', clientSecret: ${JSON.stringify(created.client_secret)} } });
        const token = await client.getToken({ scope: 'invoices:read' });
        const verified = await createVerifier({ issuer: ${JSON.stringify(issuer)}, audience: ${JSON.stringify(issuer)} }).verify(token.accessToken);
        console.log(JSON.stringify({ clientId: verified.clientId, scopes: verified.scopes }));
      })().catch((err) => { console.error(err); process.exit(1); });`;
    for (const loader of ['import', 'require'] as const) {
      writeFileSync(join(libProject, `roundtrip-${loader}.${loader === 'import' ? 'mjs' : 'cjs'}`), script(loader));
      const out = ok(process.execPath, [`roundtrip-${loader}.${loader === 'import' ? 'mjs' : 'cjs'}`], libProject);
      assert.deepEqual(JSON.parse(out.stdout), { clientId: 'pkg-test', scopes: ['invoices:read'] }, loader);
    }

    // `tessera token` (the server's use of @tessera-auth/client) against the running server.
    const token = ok(bin, ['token', '--issuer', issuer, '--client-id', 'pkg-test', '--client-secret', created.client_secret, '--scope', 'invoices:read'], home);
    assert.match(token.stdout, /eyJ/);
    assert.doesNotMatch(output, /"level":(50|60)/, 'the server logged an error');
  });

  test('the workspace lockfile holds no package that refuses the Node versions we declare (no EBADENGINE)', () => {
    // Every package the workspace install places must accept the lowest Node the packages declare:
    // that is what keeps `npm install` free of EBADENGINE (cookie@2 needs Node 22; the root's
    // `overrides` gives light-my-request cookie@1, which has the same API and supports Node 18+).
    const semver = createRequire(join(workspace, 'package.json'))('semver') as { minVersion(range: string): { version: string } | null; satisfies(v: string, range: string): boolean };
    const floors = PACKAGES.map((d) => readJson<{ engines: { node: string } }>(join(workspace, 'packages', d, 'package.json')).engines.node);
    const lowest = floors.map((r) => semver.minVersion(r)!.version).sort()[0]!;
    const lock = readJson<{ packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> }>(join(workspace, 'package-lock.json'));
    const refusing = Object.entries(lock.packages)
      .filter(([, p]) => p.engines && !Array.isArray(p.engines) && p.engines.node && !semver.satisfies(lowest, p.engines.node))
      .map(([path, p]) => `${path}@${p.version} (node ${(p.engines as { node: string }).node})`);
    assert.deepEqual(refusing, [], `packages refusing Node ${lowest}`);
  });

  test('the server tarball install prints no EBADENGINE', () => {
    assert.ok(serverInstallLog, 'installed by the previous test');
    // npm applies `overrides` only from the root project, so the server itself pins what its
    // dependencies would otherwise resolve to a release that refuses Node 20 (light-my-request
    // 6.8 needs cookie 2, Node >= 22; see docs/architecture.md).
    assert.doesNotMatch(serverInstallLog, /EBADENGINE/);
  });

});
