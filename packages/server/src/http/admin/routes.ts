/**
 * The /admin/v1 routes, each over one admin operation of the core (server.admin, core/admin), with
 * the caller as the audit actor. The list is the single source of the Fastify routes and of the
 * OpenAPI document.
 */
import { Readable } from 'node:stream';
import type { Actor } from '../../core/admin/types.ts';
import { SCOPES, forbidden, requireRealm, type AdminPrincipal } from './auth.ts';
import { etagOf, versionFromIfMatch } from './etag.ts';
import { Problem } from './problem.ts';
import { route, type AdminRoute, type RouteContext, type RouteResult } from './route.ts';
import * as s from './schemas.ts';

const JSON_BODY = ['application/json'];
const PATCH_BODY = ['application/merge-patch+json', 'application/json'];

const actorOf = (ctx: RouteContext): Actor => ({ id: ctx.principal.clientId, source: ctx.request.ip, requestId: ctx.request.id });
/** 403 for realms outside the token's restriction comes before anything that would tell whether the realm exists. */
const realmOf = (ctx: RouteContext<{ realm: string }>): string => {
  requireRealm(ctx.principal, ctx.params.realm);
  return ctx.params.realm;
};
const ifVersion = (ctx: RouteContext) => {
  const v = versionFromIfMatch(ctx.request.headers['if-match']);
  return v === undefined ? {} : { ifVersion: v };
};
const withEtag = (status: number, view: { version: string }): RouteResult => ({ status, body: view, headers: { etag: etagOf(view.version) } });

const problem = (description: string) => ({ description, schema: s.problemSchema });
const E404 = { 404: problem('no such realm or client') };
const E412 = { 412: problem('If-Match does not match the current version (ETag)') };

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!id || id.length > 255 || Buffer.from(id, 'utf8').toString('base64url') !== cursor) throw new Problem(400, 'invalid_request', 'cursor: not one this server made');
  return cursor;
}

/** The realms an audit query may cover: a restricted token must name one of its realms. */
function auditRealm(p: AdminPrincipal, realm: string | undefined): void {
  if (p.realms && (realm === undefined || !p.realms.has(realm))) throw forbidden();
}

const clientRoute = (path: string) => `/realms/{realm}/clients/{client_id}${path}`;

export const adminRoutes: AdminRoute[] = [
  route({
    method: 'GET', path: '/openapi.json', operationId: 'getOpenApi', summary: 'This OpenAPI 3.1 document (no token needed)', tag: 'meta', scope: undefined,
    params: s.noParams, query: s.noQuery,
    responses: { 200: { description: 'the OpenAPI document' } },
    handler: async () => ({ status: 200 }), // answered by the plugin (it owns the document)
  }),

  // ---- realms --------------------------------------------------------------------------------
  route({
    method: 'GET', path: '/realms', operationId: 'listRealms', summary: 'List realms', tag: 'realms', scope: SCOPES.realmsRead,
    params: s.noParams, query: s.noQuery,
    responses: { 200: { description: 'the realms this token may see', schema: s.realmListSchema } },
    handler: async (ctx) => {
      const all = await ctx.server.admin.listRealms(actorOf(ctx));
      const realms = all.filter((r) => !ctx.principal.realms || ctx.principal.realms.has(r.name)).map((r) => ({ ...r, admin: r.name === ctx.server.config.admin.realm }));
      return { status: 200, body: { realms } };
    },
  }),
  route({
    method: 'POST', path: '/realms', operationId: 'createRealm', summary: 'Create a runtime realm', tag: 'realms', scope: SCOPES.realmsWrite,
    params: s.noParams, query: s.noQuery, body: { schema: s.realmInputSchema, required: true, mediaTypes: JSON_BODY },
    responses: { 201: { description: 'created', schema: s.realmSchema }, 409: problem('the realm exists') },
    handler: async (ctx) => {
      if (ctx.principal.realms) throw forbidden();
      const r = await ctx.server.admin.createRealm(actorOf(ctx), ctx.body);
      return { status: 201, body: { ...r, admin: false }, headers: { location: `/admin/v1/realms/${r.name}` } };
    },
  }),
  route({
    method: 'GET', path: '/realms/{realm}', operationId: 'getRealm', summary: 'Show a realm', tag: 'realms', scope: SCOPES.realmsRead,
    params: s.realmParams, query: s.noQuery,
    responses: { 200: { description: 'the realm', schema: s.realmSchema }, 404: problem('no such realm') },
    handler: async (ctx) => {
      const r = await ctx.server.admin.getRealm(actorOf(ctx), realmOf(ctx));
      return { status: 200, body: { ...r, admin: r.name === ctx.server.config.admin.realm } };
    },
  }),
  route({
    method: 'DELETE', path: '/realms/{realm}', operationId: 'deleteRealm', summary: 'Delete a runtime realm (declared realms are removed from the file)', tag: 'realms', scope: SCOPES.realmsWrite,
    params: s.realmParams, query: s.noQuery,
    responses: { 204: { description: 'deleted' }, 404: problem('no such realm'), 409: problem('the realm is declared in the configuration file') },
    handler: async (ctx) => {
      await ctx.server.admin.deleteRealm(actorOf(ctx), realmOf(ctx));
      return { status: 204 };
    },
  }),

  // ---- clients -------------------------------------------------------------------------------
  route({
    method: 'GET', path: '/realms/{realm}/clients', operationId: 'listClients', summary: 'List clients (cursor pagination; filter by text, method, disabled)', tag: 'clients', scope: SCOPES.clientsRead,
    params: s.realmParams, query: s.clientListQuery,
    responses: { 200: { description: 'one page of clients, ordered by client_id', schema: s.clientListSchema }, 404: problem('no such realm') },
    handler: async (ctx) => {
      const realm = realmOf(ctx);
      const { limit, cursor, q, method, disabled } = ctx.query;
      const page = await ctx.server.admin.listClients(actorOf(ctx), realm, {
        limit,
        ...(cursor !== undefined ? { cursor: decodeCursor(cursor) } : {}),
        ...(q !== undefined ? { text: q } : {}),
        ...(method !== undefined ? { method } : {}),
        ...(disabled !== undefined ? { disabled } : {}),
      });
      return { status: 200, body: page };
    },
  }),
  route({
    method: 'POST', path: '/realms/{realm}/clients', operationId: 'createClient', summary: 'Register a client (RFC 7591 metadata; a generated secret is returned once)', tag: 'clients', scope: SCOPES.clientsWrite,
    params: s.realmParams, query: s.noQuery, body: { schema: s.clientCreateSchema, required: true, mediaTypes: JSON_BODY },
    responses: { 201: { description: 'created', schema: s.clientCreatedSchema, headers: ['etag', 'location'] }, ...E404, 409: problem('the client_id is taken') },
    handler: async (ctx) => {
      const realm = realmOf(ctx);
      const created = await ctx.server.admin.createClient(actorOf(ctx), realm, ctx.body);
      const r = withEtag(201, created);
      r.headers!.location = `/admin/v1/realms/${realm}/clients/${encodeURIComponent(ctx.body.client_id)}`;
      return r;
    },
  }),
  route({
    method: 'GET', path: clientRoute(''), operationId: 'getClient', summary: 'Show a client', tag: 'clients', scope: SCOPES.clientsRead,
    params: s.clientParams, query: s.noQuery,
    responses: { 200: { description: 'the client', schema: s.clientViewSchema, headers: ['etag'] }, ...E404 },
    handler: async (ctx) => withEtag(200, await ctx.server.admin.getClient(actorOf(ctx), realmOf(ctx), ctx.params.client_id)),
  }),
  route({
    method: 'PATCH', path: clientRoute(''), operationId: 'updateClient', summary: 'Update a client by JSON Merge Patch (RFC 7396); If-Match guards against lost updates', tag: 'clients', scope: SCOPES.clientsWrite,
    params: s.clientParams, query: s.noQuery, body: { schema: s.clientPatchSchema, required: true, mediaTypes: PATCH_BODY }, ifMatch: true,
    responses: { 200: { description: 'updated (client_secret when the change generated one)', schema: s.clientCreatedSchema, headers: ['etag'] }, ...E404, ...E412 },
    handler: async (ctx) => {
      // The core rebuilds the record on top of the stored one, which keeps stored owners when the
      // merged metadata has none: removing them (null) means an empty list.
      const patch = ctx.body.owners === null ? { ...ctx.body, owners: [] } : ctx.body;
      return withEtag(200, await ctx.server.admin.updateClient(actorOf(ctx), realmOf(ctx), ctx.params.client_id, patch, ifVersion(ctx)));
    },
  }),
  route({
    method: 'DELETE', path: clientRoute(''), operationId: 'deleteClient', summary: "Delete a client (its tokens stay inactive, even if the id is registered again)", tag: 'clients', scope: SCOPES.clientsWrite,
    params: s.clientParams, query: s.noQuery, ifMatch: true,
    responses: { 204: { description: 'deleted' }, ...E404, ...E412 },
    handler: async (ctx) => {
      await ctx.server.admin.deleteClient(actorOf(ctx), realmOf(ctx), ctx.params.client_id, ifVersion(ctx));
      return { status: 204 };
    },
  }),
  ...(['disable', 'enable'] as const).map((action) =>
    route({
      method: 'POST', path: clientRoute(`/${action}`), operationId: `${action}Client`, summary: action === 'disable' ? 'Disable a client (optionally revoking its tokens)' : 'Enable a client', tag: 'clients', scope: SCOPES.clientsWrite,
      params: s.clientParams, query: s.noQuery, body: { schema: s.disableBody, required: false, mediaTypes: JSON_BODY }, ifMatch: true,
      responses: { 200: { description: 'the client', schema: s.clientViewSchema, headers: ['etag'] }, ...E404, ...E412 },
      handler: async (ctx) =>
        withEtag(200, await ctx.server.admin.setClientDisabled(actorOf(ctx), realmOf(ctx), ctx.params.client_id, action === 'disable', { ...ifVersion(ctx), revokeTokens: ctx.body?.revoke_tokens === true })),
    }),
  ),
  route({
    method: 'POST', path: clientRoute('/secret/rotate'), operationId: 'rotateClientSecret', summary: 'New client secret (returned once); the previous one works for grace_seconds (default 24 h)', tag: 'clients', scope: SCOPES.clientsWrite,
    params: s.clientParams, query: s.noQuery, body: { schema: s.secretRotationBody, required: false, mediaTypes: JSON_BODY }, ifMatch: true,
    responses: { 200: { description: 'the new secret, shown once', schema: s.secretRotationSchema, headers: ['etag'] }, ...E404, 400: problem('the client has no secret (key-based method)'), ...E412 },
    handler: async (ctx) =>
      withEtag(200, await ctx.server.admin.rotateClientSecret(actorOf(ctx), realmOf(ctx), ctx.params.client_id, {
        ...ifVersion(ctx),
        ...(ctx.body?.grace_seconds !== undefined ? { graceSeconds: ctx.body.grace_seconds } : {}),
        revokeTokens: ctx.body?.revoke_tokens === true,
      })),
  }),
  route({
    method: 'POST', path: clientRoute('/tokens/revoke'), operationId: 'revokeClientTokens', summary: 'Make every token issued to the client until now inactive (per-client not-before)', tag: 'tokens', scope: SCOPES.tokensWrite,
    params: s.clientParams, query: s.noQuery, body: { schema: s.emptyBody, required: false, mediaTypes: JSON_BODY },
    responses: { 200: { description: 'the client, with not_before', schema: s.clientViewSchema, headers: ['etag'] }, ...E404 },
    handler: async (ctx) => withEtag(200, await ctx.server.admin.revokeClientTokens(actorOf(ctx), realmOf(ctx), ctx.params.client_id)),
  }),
  route({
    method: 'POST', path: clientRoute('/keys'), operationId: 'addClientKey', summary: 'Upload a public key (JWK, JWK Set, or {"pem"}: PEM public key or X.509 certificate) for private_key_jwt', tag: 'clients', scope: SCOPES.clientsWrite,
    params: s.clientParams, query: s.noQuery, body: { schema: s.clientKeyUpload, required: true, mediaTypes: JSON_BODY }, ifMatch: true,
    responses: { 200: { description: 'the client with the key added', schema: s.clientViewSchema, headers: ['etag'] }, ...E404, 400: problem('not a public key (private key material is refused), or the client does not use jwks'), 409: problem('a key with that kid exists'), ...E412 },
    handler: async (ctx) => {
      const body = ctx.body as Record<string, unknown>;
      const upload = typeof body.pem === 'string' && Object.keys(body).length === 1 ? body.pem : body;
      return withEtag(200, await ctx.server.admin.addClientKey(actorOf(ctx), realmOf(ctx), ctx.params.client_id, upload, ifVersion(ctx)));
    },
  }),
  route({
    method: 'POST', path: '/keys/parse', operationId: 'parseClientKey', summary: 'Parse a public key (JWK, JWK Set, or {"pem"}: PEM public key or X.509 certificate) into the JWKs a client would be registered with; nothing is stored', tag: 'clients', scope: SCOPES.clientsWrite,
    params: s.noParams, query: s.noQuery, body: { schema: s.clientKeyUpload, required: true, mediaTypes: JSON_BODY },
    responses: { 200: { description: 'the public JWKs (kid, alg; x5c for a certificate)', schema: s.parsedKeysSchema }, 400: problem('not a public key (private key material is refused)') },
    handler: async (ctx) => {
      const body = ctx.body as Record<string, unknown>;
      const upload = typeof body.pem === 'string' && Object.keys(body).length === 1 ? body.pem : body;
      return { status: 200, body: { keys: ctx.server.admin.parseClientKey(upload) } };
    },
  }),
  route({
    method: 'DELETE', path: clientRoute('/keys/{kid}'), operationId: 'removeClientKey', summary: "Remove one of the client's keys (never its last)", tag: 'clients', scope: SCOPES.clientsWrite,
    params: s.clientKeyParams, query: s.noQuery, ifMatch: true,
    responses: { 200: { description: 'the client with the key removed', schema: s.clientViewSchema, headers: ['etag'] }, 404: problem('no such realm, client or key'), 409: problem("the client's last key"), ...E412 },
    handler: async (ctx) => withEtag(200, await ctx.server.admin.removeClientKey(actorOf(ctx), realmOf(ctx), ctx.params.client_id, ctx.params.kid, ifVersion(ctx))),
  }),
  route({
    method: 'POST', path: clientRoute('/jwks-uri/check'), operationId: 'checkClientJwksUri', summary: "Fetch the client's jwks_uri (or the given uri) now: the keys, algs and kids found, or exactly why it failed", tag: 'clients', scope: SCOPES.clientsWrite,
    params: s.clientParams, query: s.noQuery, body: { schema: s.jwksCheckBody, required: false, mediaTypes: JSON_BODY },
    responses: { 200: { description: 'the outcome (ok false with error and reason when the fetch or the set failed)', schema: s.jwksCheckSchema }, ...E404 },
    handler: async (ctx) => ({ status: 200, body: await ctx.server.admin.checkJwksUri(actorOf(ctx), realmOf(ctx), ctx.params.client_id, ctx.body?.uri) }),
  }),

  // ---- tokens --------------------------------------------------------------------------------
  route({
    method: 'POST', path: '/realms/{realm}/tokens/revoke', operationId: 'revokeToken', summary: 'Revoke one access token by jti', tag: 'tokens', scope: SCOPES.tokensWrite,
    params: s.realmParams, query: s.noQuery, body: { schema: s.tokenRevokeBody, required: true, mediaTypes: JSON_BODY },
    responses: { 204: { description: 'revoked (until expires_at, default now + the realm maximum token lifetime)' }, 404: problem('no such realm') },
    handler: async (ctx) => {
      await ctx.server.admin.revokeToken(actorOf(ctx), realmOf(ctx), ctx.body.jti, ctx.body.expires_at !== undefined ? { expiresAt: ctx.body.expires_at } : {});
      return { status: 204 };
    },
  }),

  // ---- signing keys --------------------------------------------------------------------------
  route({
    method: 'GET', path: '/realms/{realm}/keys', operationId: 'listSigningKeys', summary: "List the realm's signing keys", tag: 'keys', scope: SCOPES.keysRead,
    params: s.realmParams, query: s.noQuery,
    responses: { 200: { description: 'the keys', schema: s.keyListSchema }, 404: problem('no such realm') },
    handler: async (ctx) => ({ status: 200, body: { keys: await ctx.server.admin.listKeys(actorOf(ctx), realmOf(ctx)) } }),
  }),
  route({
    method: 'GET', path: '/realms/{realm}/jwks', operationId: 'getPublishedJwks', summary: "The realm's JWK Set as published at its jwks_uri, with the rotation settings", tag: 'keys', scope: SCOPES.keysRead,
    params: s.realmParams, query: s.noQuery,
    responses: { 200: { description: 'the published JWK Set', schema: s.publishedJwksSchema }, 404: problem('no such realm') },
    handler: async (ctx) => ({ status: 200, body: await ctx.server.admin.publishedJwks(actorOf(ctx), realmOf(ctx)) }),
  }),
  route({
    method: 'POST', path: '/realms/{realm}/keys/rotate', operationId: 'rotateSigningKey', summary: 'Publish a new signing key (it signs after pre-publication unless immediate)', tag: 'keys', scope: SCOPES.keysWrite,
    params: s.realmParams, query: s.noQuery, body: { schema: s.keyRotateSchema, required: false, mediaTypes: JSON_BODY },
    responses: { 201: { description: 'the new key', schema: s.keySchema }, 404: problem('no such realm') },
    handler: async (ctx) => ({ status: 201, body: await ctx.server.admin.rotateKeys(actorOf(ctx), realmOf(ctx), { immediate: ctx.body?.immediate === true }) }),
  }),
  route({
    method: 'POST', path: '/realms/{realm}/keys/{kid}/revoke', operationId: 'revokeSigningKey', summary: 'Withdraw a signing key at once (compromise); refused when it would leave the realm unable to sign', tag: 'keys', scope: SCOPES.keysWrite,
    params: s.keyParams, query: s.noQuery, body: { schema: s.keyRevokeBody, required: false, mediaTypes: JSON_BODY },
    responses: { 204: { description: 'revoked' }, 404: problem('no such realm or active key'), 409: problem('refused: rotate first, or promote_successor') },
    handler: async (ctx) => {
      await ctx.server.admin.revokeKey(actorOf(ctx), realmOf(ctx), ctx.params.kid, { promoteSuccessor: ctx.body?.promote_successor === true });
      return { status: 204 };
    },
  }),

  // ---- audit trail and recorded failures -------------------------------------------------------
  route({
    method: 'GET', path: '/audit', operationId: 'listAuditEvents', summary: 'Query the audit trail (time in seconds, realm, client, type; cursor: after)', tag: 'audit', scope: SCOPES.auditRead,
    params: s.noParams, query: s.auditQuery,
    responses: { 200: { description: 'events in chain order', schema: s.auditPageSchema } },
    handler: async (ctx) => {
      auditRealm(ctx.principal, ctx.query.realm);
      return { status: 200, body: await ctx.server.admin.listAudit(actorOf(ctx), ctx.query) };
    },
  }),
  route({
    method: 'GET', path: '/audit/verify', operationId: 'verifyAuditChain', summary: 'Verify the hash chain; reports the first broken link', tag: 'audit', scope: SCOPES.auditRead,
    params: s.noParams, query: s.noQuery,
    responses: { 200: { description: 'the verification outcome', schema: s.auditVerifySchema } },
    handler: async (ctx) => {
      if (ctx.principal.realms) throw forbidden(); // the chain spans every realm
      return { status: 200, body: await ctx.server.admin.verifyAudit(actorOf(ctx)) };
    },
  }),
  route({
    method: 'GET', path: '/audit/export', operationId: 'exportAuditEvents', summary: 'Export the audit trail as JSON lines (same filters as the query)', tag: 'audit', scope: SCOPES.auditRead,
    params: s.noParams, query: s.auditQuery,
    responses: { 200: { description: 'one event per line (JSON lines)', mediaType: 'application/jsonl', schema: s.auditEventSchema } },
    handler: async (ctx) => {
      auditRealm(ctx.principal, ctx.query.realm);
      const { limit: _limit, ...query } = ctx.query;
      return { status: 200, stream: { type: 'application/jsonl; charset=utf-8', body: Readable.from(ctx.server.admin.exportAudit(actorOf(ctx), query)) } };
    },
  }),
  route({
    method: 'GET', path: '/realms/{realm}/failures', operationId: 'listFailures', summary: 'Recorded authentication failures with their private reason and a hint, newest first', tag: 'audit', scope: SCOPES.auditRead,
    params: s.realmParams, query: s.failureQuery,
    responses: { 200: { description: 'aggregated failures', schema: s.failureListSchema }, 404: problem('no such realm') },
    handler: async (ctx) => ({ status: 200, body: { failures: await ctx.server.admin.listFailures(actorOf(ctx), realmOf(ctx), ctx.query) } }),
  }),
  route({
    method: 'GET', path: '/realms/{realm}/activity', operationId: 'getActivity', summary: 'Tokens issued and refused requests per minute (last `minutes`, at most 60) for the realm or one client, summed over every instance', tag: 'audit', scope: SCOPES.auditRead,
    params: s.realmParams, query: s.activityQuery,
    responses: { 200: { description: 'per-minute counts, oldest first', schema: s.activitySchema }, 404: problem('no such realm') },
    handler: async (ctx) => ({ status: 200, body: await ctx.server.admin.activity(actorOf(ctx), realmOf(ctx), ctx.query) }),
  }),
];
