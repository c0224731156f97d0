/** The grant registry: one module per grant_type. */
import * as clientCredentials from './client-credentials.ts';

export const GRANTS = [clientCredentials] as const;
