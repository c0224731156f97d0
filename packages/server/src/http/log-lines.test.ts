/**
 * Log lines as an operator reads them: `reqId` appears once per line (request.log is bound to it
 * already), and an expected 503 (PostgreSQL down, behind a real TCP proxy that is stopped) is logged
 * once, at warn, not again as an error.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import postgres from 'postgres';
import { resolveConfig } from '../core/config/index.ts';
import { createKek } from '../core/crypto/kek.ts';
import { AuthorizationServer } from '../core/server.ts';
import { createPostgresStorage } from '../storage/postgres/index.ts';
import { buildApp } from './app.ts';
import { TcpProxy } from '../../../../test/fixtures/tcp-proxy.ts';
import { basic, form } from '../../../../test/fixtures/assertions.ts';

const PG_URL = process.env.TESSERA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

it('every line carries reqId once; a 503 for a database outage is one warn line', async () => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  const schema = `t_loglines_${process.pid}_${randomBytes(4).toString('hex')}`;
  const proxy = new TcpProxy(PG_URL);
  await proxy.start();
  const url = new URL(proxy.via(PG_URL));
  url.searchParams.set('schema', schema);
  const storage = await createPostgresStorage({ url: url.toString() });
  const config = resolveConfig({ issuer: 'http://127.0.0.1:9', demo_client: false, clients: [{ client_id: 'c', client_secret: 'secret-c', scope: 'read' }] });
  const server = await AuthorizationServer.create({ config, storage, kek: createKek(randomBytes(32)) });
  const app = buildApp(server, { logger: pino({ level: 'info' }, sink) });
  const tokenRequest = (id: string) =>
    app.inject({ method: 'POST', url: '/oauth2/token', payload: form({ grant_type: 'client_credentials' }), headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(id, 'wrong') } });
  try {
    assert.equal((await tokenRequest('c')).statusCode, 401);
    await proxy.stop();
    const down = await tokenRequest('never-seen-client'); // not cached: the lookup reaches the database
    assert.equal(down.statusCode, 503);
    const reqId = down.headers['x-request-id'] as string;

    assert.ok(lines.length >= 2);
    for (const line of lines) assert.equal(line.match(/"reqId":/g)?.length ?? 0, line.includes('"reqId"') ? 1 : 0, `reqId once: ${line}`);
    const ofRequest = lines.map((l) => JSON.parse(l)).filter((l) => l.reqId === reqId);
    assert.equal(ofRequest.length, 1, `one line for the 503: ${JSON.stringify(ofRequest)}`);
    assert.equal(ofRequest[0].level, 40, 'at warn');
    assert.equal(ofRequest[0].msg, 'dependency unavailable');
  } finally {
    await app.close();
    server.close();
    await proxy.stop();
    await storage.close();
    const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
});
