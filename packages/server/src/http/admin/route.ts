/** The shape of one admin route: its schemas (validation and OpenAPI) and its handler. */
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { AuthorizationServer } from '../../core/server.ts';
import type { AdminPrincipal, AdminScope } from './auth.ts';

export interface RouteContext<P = Record<string, string>, Q = Record<string, unknown>, B = unknown> {
  server: AuthorizationServer;
  /** Undefined only on public routes. */
  principal: AdminPrincipal;
  params: P;
  query: Q;
  body: B;
  request: FastifyRequest;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** A streamed body (audit export), sent as is. */
  stream?: { type: string; body: NodeJS.ReadableStream };
}

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Media type of the body when not JSON (the schema then describes one line / item). */
  mediaType?: string;
  /** Response headers the route sets (documented). */
  headers?: Array<'etag' | 'location'>;
}

export interface AdminRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** OpenAPI-style path under /admin/v1, e.g. /realms/{realm}/clients/{client_id}. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  /** Scope required; undefined: public (no token). */
  scope: AdminScope | undefined;
  params: z.ZodObject;
  query: z.ZodObject;
  body?: { schema: z.ZodType; required: boolean; mediaTypes: string[] };
  /** Reads If-Match (optimistic concurrency). */
  ifMatch?: boolean;
  responses: Record<number, ResponseSpec>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  handler(ctx: RouteContext<any, any, any>): Promise<RouteResult>;
}

/** Identity helper that keeps the handler's context typed from the schemas. */
export function route<P extends z.ZodObject, Q extends z.ZodObject, B extends z.ZodType = z.ZodUndefined>(
  r: Omit<AdminRoute, 'handler' | 'params' | 'query' | 'body'> & {
    params: P;
    query: Q;
    body?: { schema: B; required: boolean; mediaTypes: string[] };
    handler(ctx: RouteContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<RouteResult>;
  },
): AdminRoute {
  return r as AdminRoute;
}
