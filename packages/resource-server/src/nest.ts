/**
 * NestJS guard (`@tessera-auth/resource-server/nest`), for the Express and the Fastify platforms.
 * On success the verified token is at `request.auth`. Use `@UseGuards(new BearerGuard({ verifier,
 * scopes }))` per controller or route, or `app.useGlobalGuards(new BearerGuard(...))`.
 */
import { HttpException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { VerifiedAccessToken } from './claims.ts';
import { urlHasAccessToken } from './extract.ts';
import { bodyHasAccessToken, errorResponse, toVerifier, VERIFIER, type BearerMiddlewareOptions } from './response.ts';
import type { AuthenticateOptions, Verifier } from './verifier.ts';

interface NestRequest {
  headers: Record<string, string | string[] | undefined>;
  url: string;
  originalUrl?: string;
  body?: unknown;
  auth?: VerifiedAccessToken;
}

/** Express's `res.setHeader` or Fastify's `reply.header`. */
interface NestResponse {
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
}

export class BearerGuard implements CanActivate {
  readonly #verifier: Verifier;
  readonly #call: AuthenticateOptions;

  constructor(options: BearerMiddlewareOptions) {
    ({ verifier: this.#verifier, call: this.#call } = toVerifier(options));
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<NestRequest>();
    try {
      const auth = await this.#verifier.authenticate(
        {
          authorization: request.headers.authorization,
          tokenElsewhere: urlHasAccessToken(request.originalUrl ?? request.url) || bodyHasAccessToken(request.body),
        },
        this.#call,
      );
      Object.assign(request, auth ? { auth, [VERIFIER]: this.#verifier } : { [VERIFIER]: this.#verifier });
      return true;
    } catch (error) {
      const response = errorResponse(error);
      if (!response) throw error;
      const reply = http.getResponse<NestResponse>();
      for (const [name, value] of Object.entries(response.headers)) {
        if (typeof reply.setHeader === 'function') reply.setHeader(name, value);
        else reply.header?.(name, value);
      }
      throw new HttpException(response.body ?? {}, response.status);
    }
  }
}

/** The verified token of a request that passed `BearerGuard`; throws if there is none. */
export function nestBearerAuth(request: unknown): VerifiedAccessToken {
  const auth = (request as NestRequest).auth;
  if (!auth || !Array.isArray(auth.scopes)) throw new Error('request was not authenticated by BearerGuard');
  return auth;
}
