/**
 * ForgeRock Identity Cloud (AM) style paths, for realms with the `forgerock-identity-cloud` profile:
 * the scripts Identity Cloud users already have call
 *   {base}/oauth2/realms/root/realms/{realm}/access_token | /introspect | /token/revoke |
 *   /connect/jwk_uri | /.well-known/openid-configuration
 * (also under /am/…, as in the tenant URLs the documents print). They are aliases of the realm's
 * real endpoints — same handlers, same answers; the default realm is AM's root realm
 * ({base}/oauth2/realms/root/…). Realms without the profile answer 404 there.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthorizationServer } from '../core/server.ts';
import { DEFAULT_REALM, type RealmConfig } from '../core/config/index.ts';

type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

export const AM_ALIAS_BASES = ['/oauth2/realms/root/realms/:realm', '/am/oauth2/realms/root/realms/:realm', '/oauth2/realms/root', '/am/oauth2/realms/root'] as const;

export function registerAmAliases(app: FastifyInstance, server: AuthorizationServer, endpoints: { token: Handler; introspect: Handler; revoke: Handler }): void {
  const aliasRealm = (request: FastifyRequest): RealmConfig | undefined => {
    const named = (request.params as { realm?: string }).realm;
    if (named === DEFAULT_REALM) return undefined;
    const realm = server.realm(named ?? DEFAULT_REALM);
    return realm && realm.amAliasPrefixes.length > 0 ? realm : undefined;
  };
  const notFound = (reply: FastifyReply) => reply.code(404).header('cache-control', 'no-store').send({ error: 'not_found', error_description: 'no such endpoint' });
  const guarded = (h: Handler): Handler => async (request, reply) => (aliasRealm(request) ? h(request, reply) : notFound(reply));

  for (const base of AM_ALIAS_BASES) {
    app.post(`${base}/access_token`, guarded(endpoints.token));
    app.post(`${base}/introspect`, guarded(endpoints.introspect));
    app.post(`${base}/token/revoke`, guarded(endpoints.revoke));
    app.get(`${base}/connect/jwk_uri`, async (request, reply) => {
      const realm = aliasRealm(request);
      if (!realm) return notFound(reply);
      return reply.header('cache-control', 'public, max-age=300').type('application/jwk-set+json').send(server.jwks(realm.name));
    });
    app.get(`${base}/.well-known/openid-configuration`, async (request, reply) => {
      const realm = aliasRealm(request);
      const doc = realm && server.metadata(realm.name);
      if (!doc) return notFound(reply);
      return reply.header('cache-control', 'public, max-age=300').send(doc);
    });
  }
}
