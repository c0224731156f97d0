/**
 * The OpenAPI 3.1 document of /admin/v1, generated from the route list and its zod schemas
 * (z.toJSONSchema: JSON Schema 2020-12, the dialect of OpenAPI 3.1). Nothing here is written by hand
 * but titles and descriptions.
 */
import { z } from 'zod';
import type { ResolvedConfig } from '../../core/config/index.ts';
import { SCOPES } from './auth.ts';
import type { AdminRoute } from './route.ts';
import { problemSchema } from './schemas.ts';

export const ADMIN_PREFIX = '/admin/v1';

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

const SCOPE_TEXT: Record<string, string> = {
  [SCOPES.admin]: 'every admin operation',
  [SCOPES.realmsRead]: 'list and show realms',
  [SCOPES.realmsWrite]: 'create and delete realms',
  [SCOPES.clientsRead]: 'list and show clients',
  [SCOPES.clientsWrite]: 'create, update, delete, disable clients; rotate secrets; upload keys',
  [SCOPES.keysRead]: 'list signing keys',
  [SCOPES.keysWrite]: 'rotate and revoke signing keys',
  [SCOPES.tokensWrite]: 'revoke access tokens',
  [SCOPES.auditRead]: 'query, verify and export the audit trail and recorded failures',
};

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: jsonSchema(problemSchema, 'output') } } });

export function buildOpenApiDocument(routes: readonly AdminRoute[], config: ResolvedConfig): Record<string, unknown> {
  const adminRealm = config.realms.get(config.admin.realm)!;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const parameters: unknown[] = [];
    for (const [name, schema] of Object.entries(r.params.shape)) parameters.push({ name, in: 'path', required: true, schema: jsonSchema(schema as z.ZodType, 'input') });
    for (const [name, schema] of Object.entries(r.query.shape)) {
      const required = !(schema as z.ZodType).safeParse(undefined).success;
      parameters.push({ name, in: 'query', required, schema: jsonSchema(schema as z.ZodType, 'input') });
    }
    if (r.ifMatch) parameters.push({ name: 'If-Match', in: 'header', required: false, description: 'ETag of the version read; a stale one gets 412', schema: { type: 'string' } });
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(r.responses)) {
      const isProblem = spec.schema === problemSchema;
      const res: Record<string, unknown> = { description: spec.description };
      if (spec.schema) res.content = { [spec.mediaType ?? (isProblem ? 'application/problem+json' : 'application/json')]: { schema: jsonSchema(spec.schema, 'output') } };
      else if (r.path === '/openapi.json') res.content = { 'application/json': { schema: { type: 'object' } } };
      if (spec.headers?.length) res.headers = Object.fromEntries(spec.headers.map((h) => [h === 'etag' ? 'ETag' : 'Location', { schema: { type: 'string' } }]));
      responses[status] = res;
    }
    if (r.scope) {
      responses['400'] ??= problem('invalid input (path, query or body)');
      responses['401'] = problem('missing or invalid access token (WWW-Authenticate: Bearer)');
      responses['403'] = problem('the token lacks the scope or the realm');
    }
    responses['500'] ??= problem('internal error');
    const op: Record<string, unknown> = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      security: r.scope ? [{ adminToken: [r.scope] }] : [],
      responses,
    };
    if (parameters.length) op.parameters = parameters;
    if (r.body) {
      const schema = jsonSchema(r.body.schema, 'input');
      op.requestBody = { required: r.body.required, content: Object.fromEntries(r.body.mediaTypes.map((t) => [t, { schema }])) };
    }
    (paths[r.path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tessera admin API',
      version: '1',
      description: `Administration of Tessera over HTTP. Callers present access tokens of the admin realm "${adminRealm.name}" (client credentials grant at its token endpoint, audience ${config.issuer}${ADMIN_PREFIX}). Errors are RFC 9457 problem documents.`,
    },
    servers: [{ url: ADMIN_PREFIX }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    components: {
      securitySchemes: {
        adminToken: {
          type: 'oauth2',
          description: `Tokens restricted to some realms carry scopes tessera:realm:<name>.`,
          flows: { clientCredentials: { tokenUrl: adminRealm.tokenEndpoint, scopes: SCOPE_TEXT } },
        },
      },
    },
    paths,
  };
}
