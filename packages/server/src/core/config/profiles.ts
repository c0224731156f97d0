/**
 * Realm profiles: named sets of defaults for a realm's assertion, authentication and token rules,
 * taken from the vendor documents they imitate (docs/configuration.md has the table, with the text
 * each line comes from). A realm's own explicit settings override its profile; the profile
 * overrides the file's top-level settings, which override the built-in defaults.
 */
import type { TokenEndpointAuthMethod } from '../../shared/oauth.ts';

export const PROFILES = ['standard', 'forgerock-openbanking', 'forgerock-identity-cloud', 'jack-henry', 'oracle', 'fapi2'] as const;
export type ProfileName = (typeof PROFILES)[number];

export interface ProfileDefaults {
  assertions?: {
    audience?: 'issuer' | 'token_endpoint' | 'either';
    allowArrayAudience?: boolean;
    maxAgeSeconds?: number;
    maxLifetimeSeconds?: number;
    requireJti?: boolean;
    requireTyp?: boolean;
    signingAlgs?: readonly string[];
    oracleClaims?: boolean;
  };
  tokens?: { ttlSeconds?: number };
  /** Client authentication methods the realm accepts (all when absent). */
  authMethods?: readonly TokenEndpointAuthMethod[];
  /** Also answer on the AM-style paths of ForgeRock Identity Cloud. */
  amPaths?: boolean;
}

export const PROFILE_DEFAULTS: Readonly<Record<ProfileName, ProfileDefaults>> = {
  standard: {},
  // "The audience must match the AS issuer ID"; the curl example's assertion has no jti and no iat,
  // the first example lives 599 s (exp - iat); ES256 in the curl example, RSA in the table.
  'forgerock-openbanking': {
    assertions: { audience: 'issuer', requireJti: false, signingAlgs: ['RS256', 'PS256', 'ES256'] },
  },
  // `--user '<client-id>:<client-secret>'` against …/oauth2/realms/root/realms/alpha/access_token.
  'forgerock-identity-cloud': { amPaths: true },
  // "aud: The exact URL of the token endpoint", "Do not set [exp] to more than 5 minutes (300
  // seconds) from the time of issuance", ES256 / PS256 / RS256, "expires_in": 600, and
  // "JWT-Based Client Authentication … exclusively supported".
  'jack-henry': {
    assertions: { audience: 'token_endpoint', maxLifetimeSeconds: 300, requireJti: true, signingAlgs: ['ES256', 'PS256', 'RS256'] },
    tokens: { ttlSeconds: 600 },
    authMethods: ['private_key_jwt'],
  },
  // "the HTTP basic authentication header and optionally a client assertion"; "aud": [ … ];
  // "x5t": "<X5t of the certificate>"; prn = the client id, oracle.oauth.*.id_type = ClientID.
  oracle: {
    assertions: { allowArrayAudience: true, oracleClaims: true },
  },
  // FAPI 2.0 Security Profile §5.3.2.1 / §5.4: aud the issuer only; PS256, ES256 or EdDSA (Ed25519);
  // private_key_jwt (Tessera has no mTLS); typ, when present, JWT or client-authentication+jwt.
  fapi2: {
    assertions: { audience: 'issuer', allowArrayAudience: false, signingAlgs: ['PS256', 'ES256', 'EdDSA', 'Ed25519'] },
    authMethods: ['private_key_jwt'],
  },
};
