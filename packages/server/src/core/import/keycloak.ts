/**
 * Moving clients in from Keycloak: a realm export (`kc.sh export --realm …`, or the admin console's
 * "Partial export" with clients) → Tessera client metadata. Only what machine-to-machine access
 * needs is taken: confidential OpenID Connect clients with service accounts enabled.
 *   clientAuthenticatorType client-secret      → client_secret_basic (Keycloak also takes post) + its secret
 *                           client-secret-jwt  → client_secret_jwt + its secret (+ signing alg)
 *                           client-jwt         → private_key_jwt with attributes["jwks.url"] when
 *                                                "use.jwks.url" is true, else the certificate in
 *                                                attributes["jwt.credential.certificate"] as a JWK
 *                                                with x5c (+ signing alg)
 * Client scopes: default + optional client scopes become `scope`, the default ones `default_scopes`;
 * Keycloak's built-in user-facing scopes (profile, email, roles, …) mean nothing here and are left
 * out. Everything not mapped is reported, never silently dropped.
 */
import { X509Certificate } from 'node:crypto';
import type { ClientMetadataInput } from '../config/index.ts';
import { isAsymmetricAlg, isHmacAlg } from '../crypto/jws.ts';

export interface KeycloakImportPlan {
  /** The realm name in the export. */
  sourceRealm: string | undefined;
  clients: ClientMetadataInput[];
  /** Clients left out, with why. */
  skipped: { client_id: string; reason: string }[];
  /** Parts of imported clients that could not be mapped. */
  notes: { client_id: string; note: string }[];
}

/** Scopes every Keycloak realm creates for end-user logins; not meaningful for client credentials. */
const BUILTIN_SCOPES = new Set(['web-origins', 'acr', 'profile', 'roles', 'email', 'address', 'phone', 'offline_access', 'microprofile-jwt', 'basic', 'organization', 'role_list', 'saml_organization']);
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

type Json = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const strList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export function planKeycloakImport(doc: unknown): KeycloakImportPlan {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new TypeError('not a Keycloak realm export: expected a JSON object');
  const realm = doc as Json;
  if (!Array.isArray(realm.clients)) throw new TypeError('not a Keycloak realm export: no "clients" array');
  const plan: KeycloakImportPlan = { sourceRealm: str(realm.realm), clients: [], skipped: [], notes: [] };

  for (const raw of realm.clients as unknown[]) {
    if (!raw || typeof raw !== 'object') continue;
    const c = raw as Json;
    const id = str(c.clientId) ?? '(no clientId)';
    const skip = (reason: string) => void plan.skipped.push({ client_id: id, reason });
    const note = (text: string) => void plan.notes.push({ client_id: id, note: text });
    if (str(c.clientId) === undefined) { skip('no clientId'); continue; }
    if (c.protocol !== undefined && c.protocol !== 'openid-connect') { skip(`protocol ${String(c.protocol)} (only openid-connect clients)`); continue; }
    if (c.publicClient === true) { skip('public client (no credentials to authenticate with)'); continue; }
    if (c.bearerOnly === true) { skip('bearer-only client (it never asks for tokens)'); continue; }
    if (c.serviceAccountsEnabled !== true) { skip('service accounts not enabled (no client credentials grant in Keycloak)'); continue; }

    const attrs = (c.attributes && typeof c.attributes === 'object' ? c.attributes : {}) as Json;
    const out: ClientMetadataInput = { client_id: id, grant_types: ['client_credentials'] };
    const name = str(c.name);
    if (name !== undefined) out.client_name = name.slice(0, 255);
    if (c.enabled === false) out.disabled = true;
    const alg = str(attrs['token.endpoint.auth.signing.alg']);

    const type = str(c.clientAuthenticatorType) ?? 'client-secret';
    if (type === 'client-secret') {
      const secret = str(c.secret);
      if (secret === undefined) { skip('client-secret authenticator but the export has no secret (exported without credentials?)'); continue; }
      out.token_endpoint_auth_method = 'client_secret_basic';
      out.client_secret = secret;
      note('Keycloak accepts the secret by Basic and in the body; imported as client_secret_basic');
    } else if (type === 'client-secret-jwt') {
      const secret = str(c.secret);
      if (secret === undefined) { skip('client-secret-jwt authenticator but the export has no secret'); continue; }
      out.token_endpoint_auth_method = 'client_secret_jwt';
      out.client_secret = secret;
      if (alg !== undefined) {
        if (isHmacAlg(alg)) out.token_endpoint_auth_signing_alg = alg;
        else note(`signing alg ${alg} is not HS256/384/512: not pinned`);
      }
    } else if (type === 'client-jwt') {
      out.token_endpoint_auth_method = 'private_key_jwt';
      const jwksUrl = str(attrs['jwks.url']);
      const cert = str(attrs['jwt.credential.certificate']);
      if (attrs['use.jwks.url'] === 'true' || attrs['use.jwks.url'] === true) {
        if (jwksUrl === undefined) { skip('Signed JWT with "use JWKS URL" but no jwks.url'); continue; }
        out.jwks_uri = jwksUrl;
      } else if (cert !== undefined) {
        try {
          const x509 = new X509Certificate(Buffer.from(cert, 'base64'));
          const jwk = x509.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
          out.jwks = { keys: [{ ...jwk, use: 'sig', x5c: [cert.replace(/\s+/g, '')] }] };
        } catch (err) {
          skip(`Signed JWT certificate could not be read: ${(err as Error).message}`);
          continue;
        }
      } else {
        skip('Signed JWT without a JWKS URL or a certificate');
        continue;
      }
      if (alg !== undefined) {
        if (isAsymmetricAlg(alg)) out.token_endpoint_auth_signing_alg = alg;
        else note(`signing alg ${alg} is not supported for private_key_jwt: not pinned`);
      }
    } else {
      skip(`client authenticator ${type} is not supported (Tessera has no mutual-TLS client authentication)`);
      continue;
    }

    const defaults = strList(c.defaultClientScopes);
    const optional = strList(c.optionalClientScopes);
    const keep = (s: string) => {
      if (BUILTIN_SCOPES.has(s)) return false;
      if (!SCOPE_TOKEN.test(s)) {
        note(`client scope "${s}" is not a valid scope token: left out`);
        return false;
      }
      return true;
    };
    const scopes = [...new Set([...defaults, ...optional].filter(keep))];
    const dropped = [...new Set([...defaults, ...optional].filter((s) => BUILTIN_SCOPES.has(s)))];
    if (dropped.length) note(`Keycloak built-in scopes left out: ${dropped.join(' ')}`);
    if (scopes.length) out.scope = scopes.join(' ');
    const defaultKept = defaults.filter((s) => scopes.includes(s));
    if (defaultKept.length) out.default_scopes = defaultKept.join(' ');

    const lifespan = Number(attrs['access.token.lifespan']);
    if (Number.isInteger(lifespan) && lifespan > 0) out.access_token_ttl = lifespan;
    for (const [k, label] of [['tls.client.certificate.bound.access.tokens', 'certificate-bound tokens'], ['dpop.bound.access.tokens', 'DPoP-bound tokens']] as const) {
      if (attrs[k] === 'true') note(`${label} are not supported: tokens will be plain bearer tokens`);
    }
    if (Array.isArray(c.protocolMappers) && c.protocolMappers.length) note(`${c.protocolMappers.length} protocol mapper(s) not mapped (use extra_claims for fixed claims)`);
    plan.clients.push(out);
  }
  return plan;
}
