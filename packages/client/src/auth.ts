/**
 * Client authentication at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2, OIDC Core §9).
 */
import { CLIENT_ASSERTION_TYPE_JWT_BEARER } from '../../server/src/shared/oauth.ts';
import { createClientAssertion, privateKeySigner, secretSigner, type AssertionSigner, type HmacAlg, type PrivateKeyInput } from './assertion.ts';

/** How the client proves its identity. */
export type ClientAuth =
  | { method: 'client_secret_basic'; clientSecret: string }
  | { method: 'client_secret_post'; clientSecret: string }
  | { method: 'client_secret_jwt'; clientSecret: string; alg?: HmacAlg }
  | { method: 'private_key_jwt'; privateKey: PrivateKeyInput; kid?: string; alg?: string };

/** Everything needed to authenticate one request; built once per client. */
export interface PreparedAuth {
  clientId: string;
  auth: ClientAuth;
  signer: AssertionSigner | undefined;
}

/** Validates `auth` and resolves any signing key up front. Throws TypeError on bad input. */
export function prepareAuth(clientId: string, auth: ClientAuth): PreparedAuth {
  if (typeof clientId !== 'string' || clientId === '') throw new TypeError('clientId must be a non-empty string');
  if (typeof auth !== 'object' || auth === null) throw new TypeError('auth is required');
  switch (auth.method) {
    case 'client_secret_basic':
    case 'client_secret_post':
      if (typeof auth.clientSecret !== 'string' || auth.clientSecret === '') throw new TypeError('clientSecret must be a non-empty string');
      return { clientId, auth, signer: undefined };
    case 'client_secret_jwt':
      return { clientId, auth, signer: secretSigner(auth.clientSecret, auth.alg) };
    case 'private_key_jwt':
      return { clientId, auth, signer: privateKeySigner(auth.privateKey, { kid: auth.kid, alg: auth.alg }) };
    default:
      throw new TypeError(`unsupported auth method ${String((auth as { method?: unknown }).method)}`);
  }
}

/** application/x-www-form-urlencoded encoding of one value (RFC 6749 Appendix B). */
export function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/** The `Authorization` header value for client_secret_basic: id and secret are form-encoded first (RFC 6749 §2.3.1). */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  // Form encoding leaves only ASCII, so btoa (Latin-1 in, base64 out) is exact here.
  return `Basic ${btoa(`${formEncode(clientId)}:${formEncode(clientSecret)}`)}`;
}

/** Adds the client's credentials to a token request's headers and form body. */
export async function applyClientAuth(
  prepared: PreparedAuth,
  request: { headers: Headers; body: URLSearchParams },
  assertion: { audience: string; typ: string; now: number },
): Promise<void> {
  const { auth, clientId } = prepared;
  if (auth.method === 'client_secret_basic') {
    request.headers.set('authorization', basicAuthorization(clientId, auth.clientSecret));
    return;
  }
  request.body.set('client_id', clientId);
  if (auth.method === 'client_secret_post') {
    request.body.set('client_secret', auth.clientSecret);
    return;
  }
  const jwt = await createClientAssertion(prepared.signer!, { clientId, ...assertion });
  request.body.set('client_assertion_type', CLIENT_ASSERTION_TYPE_JWT_BEARER);
  request.body.set('client_assertion', jwt);
}
