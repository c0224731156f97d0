/**
 * The /admin/v1 routes, each over a core operation of AuthorizationServer. The list is the single
 * source of the Fastify routes and of the OpenAPI document.
 */
import type { ClientRecord } from '../../core/ports/index.ts';
import { AuthorizationServer } from '../../core/server.ts';
import { toClientMetadata } from '../../core/clients/metadata.ts';
import { SCOPES, requireRealm } from './auth.ts';
import { checkIfMatch, etagOf } from './etag.ts';
import { Problem } from './problem.ts';
import { route, type AdminRoute, type RouteContext } from './route.ts';
import * as s from './schemas.ts';

const JSON_BODY = ['application/json'];
const PATCH_BODY = ['application/merge-patch+json', 'application/json'];
/** Most records a filtered list scans for one page. */
const MAX_SCAN = 10_000;

function realmOf(ctx: RouteContext<{ realm: string }>) {
  requireRealm(ctx.principal, ctx.params.realm);
  const realm = ctx.server.realm(ctx.params.realm);
  if (!realm) throw new Problem(404, 'not_found', 'no such realm');
  return realm;
}

async function loadClient(ctx: RouteContext<{ realm: string; client_id: string }>): Promise<ClientRecord> {
  const realm = realmOf(ctx);
  const record = await ctx.server.storage.clients.get(realm.name, ctx.params.client_id);
  if (!record) throw new Problem(404, 'not_found', 'no such client');
  return record;
}

/** The client as shown, with its current ETag. */
async function showClient(server: AuthorizationServer, realm: string, clientId: string, status = 200, extra: Record<string, unknown> | undefined = undefined): Promise<{ status: number; body: unknown; headers: Record<string, string> }> {
  const record = await server.storage.clients.get(realm, clientId);
  if (!record) throw new Problem(404, 'not_found', 'no such client');
  const client = toClientMetadata(record);
  return { status, body: extra ? { client, ...extra } : client, headers: { etag: etagOf(record) } };
}

/** RFC 7396 §2. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

const encodeCursor = (id: string) => Buffer.from(id, 'utf8').toString('base64url');
function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!id || id.length > 255 || encodeCursor(id) !== cursor) throw new Problem(400, 'invalid_request', 'invalid cursor');
  return id;
}

const realmView = (server: AuthorizationServer, name: string) => {
  const r = server.realm(name)!;
  return { name: r.name, issuer: r.issuer, declared: true, admin: r.name === server.config.admin.realm, token_endpoint: r.tokenEndpoint, jwks_uri: r.jwksUri };
};

const clientErrors = { 404: { description: 'no such realm or client', schema: s.problemSchema } };

export const adminRoutes: AdminRoute[] = [
  route({
    method: 'GET', path: '/openapi.json', operationId: 'getOpenApi', summary: 'This OpenAPI 3.1 document', tag: 'meta', scope: undefined,
    params: s.noParams, query: s.noQuery,
    responses: { 200: { description: 'the OpenAPI document' } },
    handler: async () => ({ status: 200 }), // answered by the plugin (it owns the document)
  }),
  route({
    method: 'GET', path: '/realms', operationId: 'listRealms', summary: 'List realms', tag: 'realms', scope: SCOPES.realmsRead,
    params: s.noParams, query: s.noQuery,
    responses: { 200: { description: 'the realms this token may see', schema: s.realmListSchema } },
    handler: async ({ server, principal }) => ({
      status: 200,
      body: { items: [...server.config.realms.keys()].filter((n) => !principal.realms || principal.realms.has(n)).map((n) => realmView(server, n)) },
    }),
  }),
  route({
    method: 'GET', path: '/realms/{realm}', operationId: 'getRealm', summary: 'Show a realm', tag: 'realms', scope: SCOPES.realmsRead,
    params: s.realmParams, query: s.noQuery,
    responses: { 200: { description: 'the realm', schema: s.realmSchema }, 404: { description: 'no such realm', schema: s.problemSchema } },
    handler: async (ctx) => ({ status: 200, body: realmView(ctx.server, realmOf(ctx).name) }),
  }),
  route({
    method: 'GET', path: '/realms/{realm}/clients', operationId: 'listClients', summary: 'List clients (cursor pagination, filters)', tag: 'clients', scope: SCOPES.clientsRead,
    params: s.realmParams, query: s.clientListQuery,
    responses: { 200: { description: 'one page of clients, ordered by client_id', schema: s.clientListSchema }, 404: { description: 'no such realm', schema: s.problemSchema } },
    handler: async (ctx) => {
      const realm = realmOf(ctx);
      const { limit, cursor, q, method, disabled } = ctx.query;
      const needle = q?.toLowerCase();
      const matches = (c: Record<string, unknown>) =>
        (method === undefined || c.token_endpoint_auth_method === method) &&
        (disabled === undefined || c.disabled === disabled) &&
        (needle === undefined || [c.client_id, c.client_name, ...((c.owners as string[]) ?? [])].some((v) => typeof v === 'string' && v.toLowerCase().includes(needle)));
      const filtered = method !== undefined || disabled !== undefined || needle !== undefined;
      const items: Record<string, unknown>[] = [];
      let after = cursor === undefined ? undefined : decodeCursor(cursor);
      let scanned = 0;
      let more = false;
      while (true) {
        const batch = filtered ? 200 : limit + 1;
        const page = await ctx.server.listClients(realm.name, { ...(after !== undefined ? { after } : {}), limit: batch });
        for (const c of page) {
          if (items.length === limit) {
            more = true;
            break;
          }
          scanned++;
          after = c.client_id as string;
          if (matches(c)) items.push(c);
        }
        if (more || page.length < batch) break;
        if (scanned >= MAX_SCAN) {
          more = true; // the next page goes on scanning from here
          break;
        }
      }
      return { status: 200, body: more && after !== undefined ? { items, next_cursor: encodeCursor(after) } : { items } };
    },
  }),
  route({
    method: 'POST', path: '/realms/{realm}/clients', operationId: 'createClient', summary: 'Register a client (a generated secret is returned once)', tag: 'clients', scope: SCOPES.clientsWrite,
    params: s.realmParams, query: s.noQuery, body: { schema: s.clientCreateSchema, required: true, mediaTypes: JSON_BODY },
    responses: { 201: { description: 'created', schema: s.clientWriteSchema, headers: ['etag', 'location'] }, 404: clientErrors[404], 409: { description: 'the client_id is taken', schema: s.problemSchema } },
    handler: async (ctx) => {
      const realm = realmOf(ctx);
      const created = await ctx.server.createClient(realm.name, ctx.body);
      const shown = await showClient(ctx.server, realm.name, ctx.body.client_id, 201, created.client_secret === undefined ? {} : { client_secret: created.client_secret });
      shown.headers = { ...shown.headers, location: `/admin/v1/realms/${realm.name}/clients/${encodeURIComponent(ctx.body.client_id)}` };
      return shown;
    },
  }),
  route({
    method: 'GET', path: '/realms/{realm}/clients/{client_id}', operationId: 'getClient', summary: 'Show a client', tag: 'clients', scope: SCOPES.clientsRead,
    params: s.clientParams, query: s.noQuery,
    responses: { 200: { description: 'the client', schema: s.clientSchema, headers: ['etag'] }, ...clientErrors },
    handler: async (ctx) => {
      const record = await loadClient(ctx);
      return { status: 200, body: toClientMetadata(record), headers: { etag: etagOf(record) } };
    },
  }),
  route({
    method: 'PATCH', path: '/realms/{realm}/clients/{client_id}', operationId: 'updateClient', summary: 'Update a client (JSON Merge Patch, RFC 7396); If-Match guards against lost updates', tag: 'clients', scope: SCOPES.clientsWrite,
    params: s.clientParams, query: s.noQuery, body: { schema: s.clientPatchSchema, required: true, mediaTypes: PATCH_BODY }, ifMatch: true,
    responses: { 200: { description: 'updated', schema: s.clientWriteSchema, headers: ['etag'] }, ...clientErrors, 412: { description: 'If-Match does not match the current ETag', schema: s.problemSchema } },
    handler: async (ctx) => {
      const record = await loadClient(ctx);
      checkIfMatch(ctx.request.headers['if-match'], etagOf(record));
      const { realm: _r, created_at: _c, updated_at: _u, ...current } = toClientMetadata(record);
      const merged = applyMergePatch(current, ctx.body) as Record<string, unknown>;
      merged.owners ??= []; // upsert keeps stored owners when absent; a patch that removes them means none
      const input = AuthorizationServer.parseClientMetadata(merged);
      const written = await ctx.server.upsertClient(record.realm, input);
      return showClient(ctx.server, record.realm, record.clientId, 200, written.client_secret === undefined ? {} : { client_secret: written.client_secret });
    },
  }),
  route({
    method: 'DELETE', path: '/realms/{realm}/clients/{client_id}', operationId: 'deleteClient', summary: 'Delete a client', tag: 'clients', scope: SCOPES.clientsWrite,
    params: s.clientParams, query: s.noQuery, ifMatch: true,
    responses: { 204: { description: 'deleted' }, ...clientErrors, 412: { description: 'If-Match does not match the current ETag', schema: s.problemSchema } },
    handler: async (ctx) => {
      const record = await loadClient(ctx);
      checkIfMatch(ctx.request.headers['if-match'], etagOf(record));
      await ctx.server.deleteClient(record.realm, record.clientId);
      return { status: 204 };
    },
  }),
  ...(['disable', 'enable'] as const).map((action) =>
    route({
      method: 'POST', path: `/realms/{realm}/clients/{client_id}/${action}`, operationId: `${action}Client`, summary: `${action === 'disable' ? 'Disable' : 'Enable'} a client`, tag: 'clients', scope: SCOPES.clientsWrite,
      params: s.clientParams, query: s.noQuery, body: { schema: s.emptyBody, required: false, mediaTypes: JSON_BODY }, ifMatch: true,
      responses: { 200: { description: 'the client', schema: s.clientSchema, headers: ['etag'] }, ...clientErrors, 412: { description: 'If-Match does not match the current ETag', schema: s.problemSchema } },
      handler: async (ctx) => {
        const record = await loadClient(ctx);
        checkIfMatch(ctx.request.headers['if-match'], etagOf(record));
        await ctx.server.setClientDisabled(record.realm, record.clientId, action === 'disable');
        return showClient(ctx.server, record.realm, record.clientId);
      },
    }),
  ),
  route({
    method: 'POST', path: '/realms/{realm}/clients/{client_id}/secret/rotate', operationId: 'rotateClientSecret', summary: 'Issue a new client secret (returned once)', tag: 'clients', scope: SCOPES.clientsWrite,
    params: s.clientParams, query: s.noQuery, body: { schema: s.emptyBody, required: false, mediaTypes: JSON_BODY }, ifMatch: true,
    responses: { 200: { description: 'the new secret, shown once', schema: s.secretRotationSchema, headers: ['etag'] }, ...clientErrors, 400: { description: 'the client has no secret (key-based method)', schema: s.problemSchema }, 412: { description: 'If-Match does not match the current ETag', schema: s.problemSchema } },
    handler: async (ctx) => {
      const record = await loadClient(ctx);
      checkIfMatch(ctx.request.headers['if-match'], etagOf(record));
      const rotated = await ctx.server.rotateClientSecret(record.realm, record.clientId);
      return showClient(ctx.server, record.realm, record.clientId, 200, { client_secret: rotated.client_secret });
    },
  }),
  route({
    method: 'GET', path: '/realms/{realm}/keys', operationId: 'listSigningKeys', summary: "List the realm's signing keys", tag: 'keys', scope: SCOPES.keysRead,
    params: s.realmParams, query: s.noQuery,
    responses: { 200: { description: 'the keys, newest first', schema: s.keyListSchema }, 404: { description: 'no such realm', schema: s.problemSchema } },
    handler: async (ctx) => {
      const realm = realmOf(ctx);
      const keys = await ctx.server.listKeys(realm.name);
      return { status: 200, body: { keys: keys.map((k) => ({ kid: k.kid, alg: k.alg, state: k.state, activates_at: new Date(k.activatesAt).toISOString() })) } };
    },
  }),
  route({
    method: 'POST', path: '/realms/{realm}/keys/rotate', operationId: 'rotateSigningKey', summary: 'Publish a new signing key (it signs after pre-publication unless immediate)', tag: 'keys', scope: SCOPES.keysWrite,
    params: s.realmParams, query: s.noQuery, body: { schema: s.keyRotateSchema, required: false, mediaTypes: JSON_BODY },
    responses: { 201: { description: 'the new key', schema: s.keyRotatedSchema }, 404: { description: 'no such realm', schema: s.problemSchema } },
    handler: async (ctx) => {
      const realm = realmOf(ctx);
      const r = await ctx.server.rotateKeys(realm.name, { immediate: ctx.body?.immediate ?? false });
      return { status: 201, body: { kid: r.kid, activates_at: new Date(r.activatesAt).toISOString() } };
    },
  }),
  route({
    method: 'POST', path: '/realms/{realm}/keys/{kid}/revoke', operationId: 'revokeSigningKey', summary: 'Withdraw a signing key at once (compromise)', tag: 'keys', scope: SCOPES.keysWrite,
    params: s.keyParams, query: s.noQuery, body: { schema: s.emptyBody, required: false, mediaTypes: JSON_BODY },
    responses: { 204: { description: 'revoked' }, 404: { description: 'no such realm or active key', schema: s.problemSchema } },
    handler: async (ctx) => {
      const realm = realmOf(ctx);
      await ctx.server.revokeKey(realm.name, ctx.params.kid);
      return { status: 204 };
    },
  }),
];
