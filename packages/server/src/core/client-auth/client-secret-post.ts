/** client_secret_post: RFC 6749 §2.3.1, client_id and client_secret in the form body. */
import { InvalidRequestError } from '../errors/index.ts';
import type { ClientAuthMethod } from './types.ts';
import { verifyClientSecret, type SecretCredentials } from './client-secret.ts';

export const name = 'client_secret_post' as const;

export const clientSecretPost: ClientAuthMethod<SecretCredentials> = {
  name,
  extract(req) {
    const secret = req.params.get('client_secret');
    if (secret === undefined) return undefined;
    const clientId = req.params.get('client_id');
    if (clientId === undefined) throw new InvalidRequestError('client_secret given without client_id').because('secret_without_client_id');
    return { clientId, secret };
  },
  verify: (creds, req, deps) => verifyClientSecret(name, creds, req, deps),
};
