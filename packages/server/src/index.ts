/**
 * Tessera's server entry (`tessera`): embed the authorization server in your own process.
 * The client SDK and the resource-server middleware are separate entries (`@tessera-auth/client`,
 * `@tessera-auth/resource-server`) that never load this one.
 */
export { AuthorizationServer, createAuthorizationServer, type ServerOptions, type EndpointRequest } from './core/server.ts';
export { resolveConfig, type ResolvedConfig, type RealmConfig, type ClientMetadataInput } from './core/config/index.ts';
export { createKek, parseKek, type KeyEncryptionKey } from './core/crypto/kek.ts';
export { buildApp, type AppOptions } from './http/app.ts';
export { createMemoryStorage } from './storage/memory/index.ts';
export { OAuthError } from './core/errors/index.ts';
export type * from './core/ports/index.ts';
export type * from './shared/oauth.ts';
