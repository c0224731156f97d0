/**
 * The scenarios: what each request looks like at each server, and what a correct answer is.
 */
import { createPublicKey, verify } from 'node:crypto';
import type { Fixture } from './fixtures.ts';
import { basicHeader, FORM, PATHS, send, type RunningServer } from './servers.ts';
import type { AssertionScenarioAlg } from './assertions.ts';

export type ScenarioId =
  | 'basic'
  | 'post'
  | 'secret_jwt'
  | 'pkjwt_es256'
  | 'pkjwt_rs256'
  | 'pkjwt_ps256'
  | 'pkjwt_eddsa'
  | 'introspect'
  | 'jwks';

export interface Scenario {
  id: ScenarioId;
  label: string;
  /** Unit of the throughput column. */
  unit: 'tokens/s' | 'introspections/s' | 'requests/s';
  kind: 'token' | 'introspect' | 'jwks';
  /** Set for scenarios where every request needs its own client assertion. */
  assertionAlg?: AssertionScenarioAlg;
}

export const SCENARIOS: readonly Scenario[] = [
  { id: 'basic', label: 'client_secret_basic', unit: 'tokens/s', kind: 'token' },
  { id: 'post', label: 'client_secret_post', unit: 'tokens/s', kind: 'token' },
  { id: 'secret_jwt', label: 'client_secret_jwt (HS256)', unit: 'tokens/s', kind: 'token', assertionAlg: 'HS256' },
  { id: 'pkjwt_es256', label: 'private_key_jwt ES256', unit: 'tokens/s', kind: 'token', assertionAlg: 'ES256' },
  { id: 'pkjwt_rs256', label: 'private_key_jwt RS256', unit: 'tokens/s', kind: 'token', assertionAlg: 'RS256' },
  { id: 'pkjwt_ps256', label: 'private_key_jwt PS256', unit: 'tokens/s', kind: 'token', assertionAlg: 'PS256' },
  { id: 'pkjwt_eddsa', label: 'private_key_jwt EdDSA', unit: 'tokens/s', kind: 'token', assertionAlg: 'EdDSA' },
  { id: 'introspect', label: 'introspection', unit: 'introspections/s', kind: 'introspect' },
  { id: 'jwks', label: 'JWKS GET', unit: 'requests/s', kind: 'jwks' },
];

export interface RequestTemplate {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  /** Static body (undefined for GET and for assertion scenarios, whose bodies are minted). */
  body?: string;
}

/** The request of `scenario` at `server`; `introspectToken` is the token introspection asks about. */
export function requestFor(scenario: Scenario, server: RunningServer, fixture: Fixture, introspectToken?: string): RequestTemplate {
  const paths = PATHS[server.name];
  const grant = `grant_type=client_credentials&scope=${encodeURIComponent(fixture.scope)}`;
  switch (scenario.kind) {
    case 'jwks':
      return { method: 'GET', path: paths.jwks, headers: {} };
    case 'introspect':
      if (!introspectToken) throw new Error('introspection needs a token');
      return {
        method: 'POST',
        path: paths.introspect,
        headers: { 'content-type': FORM, authorization: basicHeader(fixture.basic.client_id, fixture.basic.secret) },
        body: `token=${encodeURIComponent(introspectToken)}`,
      };
    case 'token':
      if (scenario.id === 'basic') {
        return { method: 'POST', path: paths.token, headers: { 'content-type': FORM, authorization: basicHeader(fixture.basic.client_id, fixture.basic.secret) }, body: grant };
      }
      if (scenario.id === 'post') {
        const c = fixture.post;
        return { method: 'POST', path: paths.token, headers: { 'content-type': FORM }, body: `${grant}&client_id=${encodeURIComponent(c.client_id)}&client_secret=${encodeURIComponent(c.secret)}` };
      }
      return { method: 'POST', path: paths.token, headers: { 'content-type': FORM } };
  }
}

/**
 * A token for the introspection scenario, from the server itself: a JWT at Tessera and the ceiling,
 * an opaque one at oidc-provider (which refuses to introspect its JWTs).
 */
export async function introspectionToken(server: RunningServer, fixture: Fixture): Promise<string> {
  const resource = server.name === 'oidc-provider' ? `&resource=${encodeURIComponent(fixture.opaqueApi)}` : '';
  const res = await send(server.origin, {
    method: 'POST',
    path: PATHS[server.name].token,
    headers: { 'content-type': FORM, authorization: basicHeader(fixture.basic.client_id, fixture.basic.secret) },
    body: `grant_type=client_credentials&scope=${encodeURIComponent(fixture.scope)}${resource}`,
  });
  if (res.status !== 200) throw new Error(`${server.name}: token for introspection: ${res.status} ${res.body}`);
  return (JSON.parse(res.body) as { access_token: string }).access_token;
}

export class BenchCheckError extends Error {}

/** What a passed token check saw. */
export interface CheckedToken {
  token: string;
  claims: Record<string, unknown>;
  expiresIn: number;
}

/**
 * Sends one request and insists on a correct answer: 200 and an ES256 JWT access token for the API
 * issued by this server, whose signature verifies with a key of the server's JWK Set; an active
 * introspection result; or a JWK Set. `authorization` replaces the template's header (another
 * client), `clientId` the client the token must name. Throws BenchCheckError.
 */
export async function checkScenario(
  scenario: Scenario,
  server: RunningServer,
  fixture: Fixture,
  template: RequestTemplate,
  body: string | undefined,
  opts: { authorization?: string; clientId?: string } = {},
): Promise<CheckedToken | undefined> {
  const headers = opts.authorization ? { ...template.headers, authorization: opts.authorization } : template.headers;
  const res = await send(server.origin, { method: template.method, path: template.path, headers, ...(body !== undefined ? { body } : {}) });
  const where = `${scenario.id} @ ${server.name}`;
  const fail = (why: string): never => {
    throw new BenchCheckError(`${where}: ${why} (HTTP ${res.status}: ${res.body.slice(0, 400)})`);
  };
  if (res.status !== 200) fail('expected 200');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    return fail('response is not JSON');
  }
  if (scenario.kind === 'jwks') {
    if (!Array.isArray(json.keys) || json.keys.length === 0) fail('no keys in the JWK Set');
    return undefined;
  }
  if (scenario.kind === 'introspect') {
    if (json.active !== true) fail('introspection says the token is not active');
    if (json.client_id !== fixture.basic.client_id) fail('introspection names another client');
    return undefined;
  }
  const token = json.access_token;
  if (typeof token !== 'string') return fail('no access_token');
  if (String(json.token_type).toLowerCase() !== 'bearer') fail('token_type is not Bearer');
  const parts = token.split('.');
  if (parts.length !== 3) fail('access_token is not a JWS');
  const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  if (header.alg !== 'ES256') fail(`access token alg ${String(header.alg)}, expected ES256`);
  if (claims.iss !== server.issuer) fail(`access token iss ${String(claims.iss)}`);
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(fixture.api)) fail(`access token aud ${JSON.stringify(claims.aud)}`);
  if (claims.scope !== fixture.scope) fail(`access token scope ${String(claims.scope)}`);
  if (claims.client_id !== (opts.clientId ?? clientOf(scenario, fixture))) fail(`access token client_id ${String(claims.client_id)}`);
  const now = Date.now() / 1000;
  if (typeof claims.exp !== 'number' || claims.exp <= now) fail(`access token exp ${String(claims.exp)} is not in the future`);
  if (typeof json.expires_in !== 'number' || json.expires_in <= 0) fail(`expires_in ${String(json.expires_in)}`);
  // Genuine: the signature verifies with a key the server publishes.
  const jwks = await send(server.origin, { method: 'GET', path: PATHS[server.name].jwks });
  const keys = (JSON.parse(jwks.body) as { keys?: Array<Record<string, unknown>> }).keys ?? [];
  const jwk = keys.find((k) => k.kid === header.kid) ?? (header.kid === undefined && keys.length === 1 ? keys[0] : undefined);
  if (!jwk) fail(`no key ${String(header.kid)} in the server's JWK Set`);
  const key = createPublicKey({ key: jwk as never, format: 'jwk' });
  if (!verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2]!, 'base64url'))) fail('access token signature does not verify with the published key');
  return { token, claims, expiresIn: json.expires_in as number };
}

/** The client a token scenario authenticates as. */
export function clientOf(scenario: Scenario, fixture: Fixture): string {
  if (scenario.id === 'post') return fixture.post.client_id;
  if (scenario.assertionAlg === 'HS256') return fixture.hs256.client_id;
  if (scenario.assertionAlg) return fixture.keyClients[scenario.assertionAlg].client_id;
  return fixture.basic.client_id;
}
