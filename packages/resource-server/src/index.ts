/**
 * `@tessera-auth/resource-server`: access token verification for APIs, framework-free with Express and
 * Fastify adapters. Depends only on the shared wire vocabulary, jose and node built-ins.
 */
export { createVerifier, verifyAccessToken, type Verifier, type VerifyCallOptions, type BearerRequest } from './verifier.ts';
export type { VerifiedAccessToken } from './claims.ts';
export { DEFAULT_ALGORITHMS, type VerifierOptions, type JwksOptions, type IntrospectionOptions, type VerifierLogger } from './options.ts';
export { BearerError, VerifierUnavailableError, bearerChallenge, type BearerErrorCode } from './errors.ts';
export { extractBearerToken, type Extraction } from './extract.ts';
export type { BearerMiddlewareOptions, BearerAuthenticated } from './response.ts';
export { expressBearer, requireScopes, bearerAuth } from './express.ts';
export { fastifyBearer, fastifyRequireScopes, fastifyBearerAuth, type BearerPreHandler } from './fastify.ts';
