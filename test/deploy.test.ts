/**
 * The deployment files agree with each other and with the server: Dockerfile, deploy/compose.yaml,
 * deploy/nginx.conf, deploy/tessera.yaml and deploy/env.example. Docker cannot run here, so the
 * Compose file is parsed (merge keys included) and its ${…} interpolation applied as Compose does,
 * and the instances' environment is fed to the server's own configuration loader.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../packages/server/src/cli/runtime.ts';
import { parseKek } from '../packages/server/src/core/crypto/kek.ts';

const root = new URL('../', import.meta.url);
const deploy = new URL('deploy/', root);
const read = (url: URL) => readFileSync(url, 'utf8');

type Service = {
  build?: { context: string; dockerfile?: string };
  image?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  expose?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: unknown };
  stop_grace_period?: string;
  command?: string[];
};
const compose = parseYaml(read(new URL('compose.yaml', deploy)), { merge: true }) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const services = compose.services;
const instances = Object.keys(services).filter((name) => /^tessera-\d+$/.test(name));

/** deploy/env.example as a map (comments and blank lines skipped). */
function envFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}
const example = envFile(read(new URL('env.example', deploy)));

/** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error} (empty counts as unset). */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?:(:-|:\?)([^}]*))?\}/g, (_, name: string, op: string | undefined, arg: string | undefined) => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (op === ':?') throw new Error(`required variable ${name} is missing: ${arg}`);
    return op === ':-' ? (arg ?? '') : '';
  });
}

/** The filled-in deploy/.env an operator would write from the example. */
const filled: Record<string, string> = { ...example, TESSERA_KEK: randomBytes(32).toString('hex'), POSTGRES_PASSWORD: randomBytes(16).toString('hex') };
const envOf = (service: Service, env = filled) => Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), env)]));

/** Dockerfile instructions, continuation lines joined, comments dropped. */
const dockerfile = read(new URL('Dockerfile', root))
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));
const stages = dockerfile.join('\n').split(/^FROM /m).slice(1).map((stage) => `FROM ${stage}`);
const finalStage = stages.at(-1)!;

describe('deployment files', () => {
  it('compose runs postgres, redis, three tessera instances and a load balancer', () => {
    assert.deepEqual(Object.keys(services).sort(), ['lb', 'postgres', 'redis', 'tessera-1', 'tessera-2', 'tessera-3']);
    assert.equal(instances.length, 3);
    for (const name of instances) {
      const s = services[name]!;
      assert.ok(s.build, `${name} is built from this repository`);
      assert.ok(existsSync(new URL(`${s.build.context}/${s.build.dockerfile ?? 'Dockerfile'}`, deploy)), `${name}: the Dockerfile exists`);
      assert.equal(s.ports, undefined, `${name} is reachable through the load balancer only`);
      assert.ok(Number.parseInt(s.stop_grace_period ?? '0', 10) > 10, `${name}: stop grace period above the 10 s shutdown deadline`);
      for (const dep of ['postgres', 'redis']) {
        assert.equal(s.depends_on?.[dep]?.condition, 'service_healthy', `${name} waits for ${dep}`);
        assert.ok(services[dep]!.healthcheck, `${dep} has a health check`);
      }
    }
  });

  it('every instance gets the same environment, with one shared KEK that must be set', () => {
    const raw = services[instances[0]!]!.environment!;
    for (const name of instances) assert.deepEqual(services[name]!.environment, raw, `${name} has the same environment as ${instances[0]}`);
    assert.match(raw.TESSERA_KEK!, /^\$\{TESSERA_KEK:\?[^}]+\}$/, 'TESSERA_KEK comes from the env file and is required');
    assert.throws(() => envOf(services[instances[0]!]!, { ...filled, TESSERA_KEK: '' }), /TESSERA_KEK/, 'compose refuses to start without a KEK');
    assert.equal(parseKek(envOf(services[instances[0]!]!).TESSERA_KEK!).length, 32, 'the documented KEK format is accepted');
    // The example commits no secret.
    assert.equal(example.TESSERA_KEK, '');
    assert.equal(example.POSTGRES_PASSWORD, '');
    // Every variable compose requires is in the example.
    const required = [...read(new URL('compose.yaml', deploy)).matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]!);
    for (const name of required) assert.ok(name in example, `${name} is in deploy/env.example`);
  });

  it("the instances' environment and deploy/tessera.yaml load with the server's own config loader", () => {
    const env = envOf(services[instances[0]!]!);
    const mount = services[instances[0]!]!.volumes!.find((v) => v.split(':')[1] === env.TESSERA_CONFIG);
    assert.ok(mount, 'TESSERA_CONFIG is mounted into the container');
    const local = new URL(mount.split(':')[0]!, deploy);
    assert.ok(existsSync(local), `${mount.split(':')[0]} exists`);
    const config = loadConfig(local.pathname, { ...env, TESSERA_CONFIG: local.pathname });
    assert.equal(config.issuer, example.TESSERA_ISSUER);
    assert.equal(config.listen.host, '0.0.0.0');
    assert.equal(config.demoClient, false);
    assert.equal(config.trustProxy, 1, 'behind the load balancer (one hop), X-Forwarded-For gives the client address');

    const storage = new URL(config.storageUrl);
    assert.equal(storage.protocol, 'postgres:');
    assert.equal(storage.hostname, 'postgres', 'the storage host is the postgres service');
    assert.equal(storage.port || '5432', '5432');
    const pg = envOf(services.postgres!);
    assert.equal(storage.username, pg.POSTGRES_USER);
    assert.equal(storage.pathname.slice(1), pg.POSTGRES_DB);
    assert.equal(env.PGPASSWORD, pg.POSTGRES_PASSWORD, 'the instances use the password postgres is set up with');
    assert.equal(storage.searchParams.get('schema'), 'tessera');

    const redis = new URL(config.redisUrl!);
    assert.equal(redis.hostname, 'redis', 'the Redis host is the redis service');
    assert.equal(redis.port || '6379', '6379');
  });

  it('nginx balances over exactly the three instances, on the port they listen on', () => {
    const nginx = read(new URL('nginx.conf', deploy));
    const port = envOf(services[instances[0]!]!).TESSERA_PORT ?? '8080';
    const upstream = [...nginx.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((m) => `${m[1]}:${m[2]}`).sort();
    assert.deepEqual(upstream, instances.map((name) => `${name}:${port}`).sort());
    assert.match(nginx, /proxy_set_header\s+X-Forwarded-For\s+\$remote_addr;/, 'replaces X-Forwarded-For (tessera trusts it)');
    assert.doesNotMatch(nginx, /non_idempotent/, 'never retries a POST that reached an instance');
    const bodyLimit = /client_max_body_size\s+(\d+)k;/.exec(nginx);
    assert.ok(bodyLimit && Number(bodyLimit[1]) * 1024 >= 16 * 1024, "nginx lets through what tessera's body limit allows");

    const lb = services.lb!;
    assert.ok(lb.volumes?.includes('./nginx.conf:/etc/nginx/nginx.conf:ro'));
    const listen = /^\s*listen\s+(\d+);/m.exec(nginx)![1];
    assert.equal(lb.ports?.length, 1);
    const [host, container] = interpolate(lb.ports![0]!, filled).split(':');
    assert.equal(container, listen, 'the published port is the one nginx listens on');
    assert.equal(new URL(filled.TESSERA_ISSUER!).port || '80', host, 'the issuer is the load balancer URL');
    for (const name of instances) assert.equal(lb.depends_on?.[name]?.condition, 'service_healthy');
    assert.match(dockerfile.join('\n'), /^HEALTHCHECK .*\/healthz/m, 'the image defines the health check the balancer waits for');
  });

  it('named volumes are declared', () => {
    const named = Object.values(services)
      .flatMap((s) => s.volumes ?? [])
      .map((v) => v.split(':')[0]!)
      .filter((source) => !source.startsWith('.') && !source.startsWith('/'));
    for (const v of named) assert.ok(compose.volumes && v in compose.volumes, `volume ${v} is declared`);
  });

  it('the image creates no demo client unless TESSERA_DEMO_CLIENT=true is given', () => {
    const env: Record<string, string> = {};
    for (const m of finalStage.matchAll(/^ENV ((?:\S+=\S+\s*)+)$/gm)) {
      for (const pair of m[1]!.trim().split(/\s+/)) env[pair.slice(0, pair.indexOf('='))] = pair.slice(pair.indexOf('=') + 1);
    }
    assert.equal(env.TESSERA_DEMO_CLIENT, 'false');
    assert.equal(loadConfig(undefined, env).demoClient, false);
    assert.equal(loadConfig(undefined, { ...env, TESSERA_DEMO_CLIENT: 'true' }).demoClient, true);
    assert.equal(loadConfig(undefined, {}).demoClient, true, '`npm start` on a laptop still creates it');
  });

  it('the Dockerfile: node:20-bookworm-slim, build tools in the build stage only, production dependencies, non-root, port 8080', () => {
    assert.ok(stages.length >= 2, 'a build stage and a runtime stage');
    for (const stage of stages) assert.match(stage, /^FROM node:20-bookworm-slim\b/);
    assert.match(stages[0]!, /apt-get install[^\n]*python3[^\n]*make[^\n]*g\+\+/, 'build tools for better-sqlite3');
    assert.doesNotMatch(finalStage, /apt-get install/, 'no build tools in the runtime image');
    assert.match(stages[0]!, /npm (ci|install)\b[^\n]*\n?[^\n]*--omit=dev/, 'dev dependencies are left out');
    assert.match(finalStage, /^USER (?!root\b|0\b)\S+/m, 'runs as a non-root user');
    assert.match(finalStage, /^EXPOSE 8080$/m);
    assert.match(finalStage, /TESSERA_HOST=0\.0\.0\.0/);
    const cmd = /^CMD (\[.*\])$/m.exec(finalStage);
    assert.deepEqual(JSON.parse(cmd![1]!), ['node', '--max-semi-space-size=2', 'packages/server/bin/tessera.mjs', 'serve']);
    // What the build copies exists, and it never copies a local node_modules or dist/.
    for (const line of stages[0]!.split('\n').filter((l) => l.startsWith('COPY '))) {
      const sources = line.replace(/^COPY\s+(--\S+\s+)*/, '').split(/\s+/).slice(0, -1);
      for (const source of sources) {
        assert.ok(existsSync(new URL(source, root)), `COPY ${source}: exists`);
        assert.ok(!/^(\.|node_modules|dist)\/?$/.test(source), `COPY ${source}: only what the image needs`);
      }
    }
  });
});
