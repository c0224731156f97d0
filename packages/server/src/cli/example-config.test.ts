import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parse } from 'yaml';
import { resolveConfig } from '../core/config/index.ts';
import { createKek } from '../core/crypto/kek.ts';
import { AuthorizationServer } from '../core/server.ts';
import { createMemoryStorage } from '../storage/memory/index.ts';

it('examples/tessera.yaml is valid and a server starts with it', async () => {
  const config = resolveConfig(parse(readFileSync(new URL('../../../../examples/tessera.yaml', import.meta.url), 'utf8')));
  const storage = createMemoryStorage();
  const server = await AuthorizationServer.create({ config, storage, kek: createKek(randomBytes(32)) });
  assert.deepEqual((await server.listClients('default')).map((c) => c.client_id), ['myClient', 'payments-job', 'resource-server']);
  assert.equal((await server.getClient('partners', 'partner-a')).token_endpoint_auth_method, 'private_key_jwt');
  assert.equal(server.metadata('partners')!.issuer, 'http://localhost:8080/realms/partners');
  await storage.close();
});
