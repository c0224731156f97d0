/**
 * `@tessera-auth/resource-server`: access token verification for APIs, framework-free and portable
 * (Web Crypto and fetch only). Framework adapters are separate entries: `./express`, `./fastify`,
 * `./koa`, `./hono` and `./nest`.
 */
export { createVerifier, verifyAccessToken, type Verifier, type VerifyCallOptions, type AuthenticateOptions, type BearerRequest } from './verifier.ts';
export type { VerifiedAccessToken } from './claims.ts';
export {
  DEFAULT_ALGORITHMS, type VerifierOptions, type IssuerOptions, type JwksOptions, type IntrospectionOptions, type VerifierLogger,
  type TokenCacheOptions, type ClaimsCheck, type VerifyFailureEvent, type VerifySuccessEvent,
} from './options.ts';
export { BearerError, VerifierUnavailableError, bearerChallenge, type BearerErrorCode } from './errors.ts';
export { extractBearerToken, type Extraction } from './extract.ts';
export { errorResponse, type BearerMiddlewareOptions, type BearerAuthenticated, type RequireScopesOptions, type ErrorResponse } from './response.ts';
