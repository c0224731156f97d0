/**
 * `@tessera-auth/client`: client-credentials token client. Depends only on the shared wire
 * vocabulary and jose; uses Web Crypto and `fetch`, no `node:` modules (Node ≥ 20, Deno, Bun,
 * Workers, browsers). `@opentelemetry/api` is used when installed.
 */
export {
  TokenClient,
  isInvalidTokenChallenge,
  type TokenClientOptions,
  type TokenRequest,
  type TokenClientHooks,
  type TokenEventContext,
  type TokenRequestEvent,
  type TokenResponseEvent,
  type TokenErrorEvent,
} from './token-client.ts';
export type { ClientAuth } from './auth.ts';
export { MemoryTokenCache, type AccessToken, type CachedToken, type TokenCacheStore } from './cache.ts';
export { RedisTokenCache, type RedisLikeClient, type RedisTokenCacheOptions } from './redis-cache.ts';
export type { HmacAlg, PrivateKeyInput } from './assertion.ts';
export { basicAuthorization } from './auth.ts';
export { TokenError, TransportError, DiscoveryError } from './errors.ts';
