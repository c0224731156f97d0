/**
 * `@tessera-auth/client`: client-credentials token client. Depends only on the shared wire vocabulary,
 * jose and node built-ins; never on server code.
 */
export { TokenClient, isInvalidTokenChallenge, type TokenClientOptions, type TokenRequest } from './token-client.ts';
export type { ClientAuth } from './auth.ts';
export type { AccessToken } from './cache.ts';
export type { HmacAlg } from './assertion.ts';
export { basicAuthorization } from './auth.ts';
export { TokenError, TransportError, DiscoveryError } from './errors.ts';
