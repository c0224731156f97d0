import type { RealmConfig } from '../config/index.ts';
import type { ClientRegistry, PreparedClient } from '../clients/registry.ts';
import type { RemoteJwksCache } from '../clients/remote-jwks.ts';
import type { SecretVerifier } from '../clients/secrets.ts';
import type { Clock, ReplayStore } from '../ports/index.ts';
import type { AuthThrottle } from './throttle.ts';
import type { TokenEndpointAuthMethod } from '../../shared/oauth.ts';

/** Request parameters after the duplicate check: one value each; empty values already dropped. */
export type Params = ReadonlyMap<string, string>;

/** What client authentication reads from a request. */
export interface AuthRequest {
  realm: RealmConfig;
  params: Params;
  /** The raw Authorization header, if any. */
  authorization: string | undefined;
  /** The caller's address, for brute-force throttling. */
  source?: string | undefined;
}

/** What client authentication may use. */
export interface AuthDeps {
  clients: ClientRegistry;
  secrets: SecretVerifier;
  remoteJwks: RemoteJwksCache;
  replay: ReplayStore;
  clock: Clock;
  throttle?: AuthThrottle;
}

export interface AuthenticatedClient {
  client: PreparedClient;
  method: TokenEndpointAuthMethod;
}

/**
 * One token_endpoint_auth_method: `extract` only reads the request (undefined: not this method),
 * `verify` only decides, throwing InvalidClientError on failure.
 */
export interface ClientAuthMethod<Credentials> {
  readonly name: TokenEndpointAuthMethod;
  extract(req: AuthRequest): Credentials | undefined;
  verify(credentials: Credentials, req: AuthRequest, deps: AuthDeps): Promise<PreparedClient>;
}
