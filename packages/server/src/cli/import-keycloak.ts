/**
 * `tessera import --from keycloak realm-export.json`: creates (or updates) the export's
 * confidential service-account clients in a Tessera realm, prints a JSON summary on stdout and one
 * line per thing it could not map on stderr. Secrets are never printed.
 */
import { AdminError } from '../core/errors/index.ts';
import { planKeycloakImport } from '../core/import/keycloak.ts';
import type { AuthorizationServer } from '../core/server.ts';

export interface KeycloakImportSummary {
  realm: string;
  source_realm: string | undefined;
  imported: { client_id: string; token_endpoint_auth_method: string; scope: string }[];
  skipped: { client_id: string; reason: string }[];
  notes: { client_id: string; note: string }[];
}

export async function importKeycloak(server: AuthorizationServer, realm: string, doc: unknown, write = (s: string) => void process.stdout.write(s), warn = (s: string) => void process.stderr.write(s)): Promise<KeycloakImportSummary> {
  if (!server.realm(realm)) throw new AdminError('not_found', `unknown realm ${realm}`);
  const plan = planKeycloakImport(doc);
  const summary: KeycloakImportSummary = { realm, source_realm: plan.sourceRealm, imported: [], skipped: [...plan.skipped], notes: plan.notes };
  for (const client of plan.clients) {
    try {
      const { client: stored } = await server.upsertClient(realm, client);
      summary.imported.push({ client_id: client.client_id, token_endpoint_auth_method: String(stored.token_endpoint_auth_method), scope: String(stored.scope ?? '') });
    } catch (err) {
      if (!(err instanceof AdminError)) throw err;
      summary.skipped.push({ client_id: client.client_id, reason: err.message });
    }
  }
  for (const s of summary.skipped) warn(`tessera: not imported: ${s.client_id}: ${s.reason}\n`);
  for (const n of summary.notes) warn(`tessera: note: ${n.client_id}: ${n.note}\n`);
  write(JSON.stringify(summary, null, 2) + '\n');
  return summary;
}
