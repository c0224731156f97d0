/**
 * The CLI against a remote server's admin API, as Hydra's CLI does: `--url` (or TESSERA_ADMIN_URL)
 * names the server; the credentials of an admin client come from the environment and the client
 * SDK gets the tokens. The object offers the same admin operations as AuthorizationServer, so the
 * clients / keys commands run unchanged in either mode.
 *
 * Environment: TESSERA_ADMIN_CLIENT_ID, and TESSERA_ADMIN_CLIENT_SECRET (client_secret_basic) or
 * TESSERA_ADMIN_PRIVATE_KEY (a PEM or JWK file, private_key_jwt; TESSERA_ADMIN_KID, TESSERA_ADMIN_ALG);
 * TESSERA_ADMIN_ISSUER when the admin realm's issuer is not `<url>/realms/admin` (for instance
 * when --url names a separate admin listener).
 */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { AdminError } from '../core/errors/index.ts';
import { EXIT, OperatorError, tokenError } from './exit.ts';
import type { ClientMetadataInput } from '../core/config/index.ts';
import type { ClientWriteResult } from '../core/server.ts';
import type { RealmInput, RealmView } from '../core/admin/types.ts';

type Env = Record<string, string | undefined>;

/** The admin API adds `admin` (whether it is the admin realm) to a realm; the local view has no such field. */
const withoutAdminFlag = ({ admin: _admin, ...view }: RealmView & { admin?: boolean }): RealmView => view;
type View = { client: Record<string, unknown> };

export class RemoteAdmin {
  readonly #base: string;
  readonly #token: () => Promise<string>;

  constructor(url: string, token: () => Promise<string>) {
    this.#base = url.replace(/\/+$/, '') + '/admin/v1';
    this.#token = token;
  }

  /**
   * Builds the client from the environment. A bad --url is a usage error (exit 3), missing
   * credentials a configuration error (4); a refused admin token exits like `tessera token` (9-11).
   */
  static async fromEnv(url: string, env: Env = process.env): Promise<RemoteAdmin> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new OperatorError(EXIT.usage, `--url: not a URL: ${url}`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new OperatorError(EXIT.usage, `--url must be http(s): ${url}`);
    const clientId = env.TESSERA_ADMIN_CLIENT_ID;
    if (!clientId) throw new OperatorError(EXIT.config, 'remote mode (--url) needs TESSERA_ADMIN_CLIENT_ID and TESSERA_ADMIN_CLIENT_SECRET or TESSERA_ADMIN_PRIVATE_KEY in the environment: set them (tessera admin bootstrap prints the first admin client)');
    let auth: Record<string, unknown>;
    if (env.TESSERA_ADMIN_PRIVATE_KEY) {
      const text = readFileSync(env.TESSERA_ADMIN_PRIVATE_KEY, 'utf8');
      auth = { method: 'private_key_jwt', privateKey: text.trim().startsWith('{') ? JSON.parse(text) : text, ...(env.TESSERA_ADMIN_KID ? { kid: env.TESSERA_ADMIN_KID } : {}), ...(env.TESSERA_ADMIN_ALG ? { alg: env.TESSERA_ADMIN_ALG } : {}) };
    } else if (env.TESSERA_ADMIN_CLIENT_SECRET) {
      auth = { method: 'client_secret_basic', clientSecret: env.TESSERA_ADMIN_CLIENT_SECRET };
    } else {
      throw new OperatorError(EXIT.config, 'remote mode (--url) needs TESSERA_ADMIN_CLIENT_SECRET or TESSERA_ADMIN_PRIVATE_KEY in the environment');
    }
    const issuer = env.TESSERA_ADMIN_ISSUER ?? `${url.replace(/\/+$/, '')}/realms/admin`;
    const { TokenClient } = await import('@tessera-auth/client');
    const client = new TokenClient({ issuer, clientId, auth, maxRetries: 1 } as never);
    return new RemoteAdmin(url, async () => {
      try {
        return (await client.getToken()).accessToken;
      } catch (err) {
        const classified = tokenError(err, issuer);
        const code = classified instanceof OperatorError ? classified.exitCode : EXIT.issuerUnreachable;
        const why = String((err as Error)?.message ?? err).replace(/\s*\n\s*/g, '; ');
        throw new OperatorError(code, `cannot get an admin token from ${issuer}: ${why}: check TESSERA_ADMIN_CLIENT_ID and its secret or key, and TESSERA_ADMIN_ISSUER when --url names a separate admin listener`, { cause: err });
      }
    });
  }

  async #call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<unknown> {
    const res = await fetch(this.#base + path, {
      method,
      headers: {
        authorization: `Bearer ${await this.#token()}`,
        accept: 'application/json, application/problem+json',
        ...(body === undefined ? {} : { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status >= 400) {
      let detail = text.slice(0, 300);
      try {
        const p = JSON.parse(text) as { detail?: string; title?: string; errors?: Array<{ path: string; message: string }> };
        detail = [p.detail ?? p.title, ...(p.errors ?? []).map((e) => `${e.path}: ${e.message}`)].filter(Boolean).join('\n');
      } catch {
        // not a problem document: keep the text
      }
      if (res.status === 404) throw new AdminError('not_found', detail);
      if (res.status === 409) throw new AdminError('conflict', detail);
      if (res.status === 412) throw new AdminError('precondition_failed', detail);
      if (res.status === 400) throw new AdminError('invalid_metadata', detail);
      throw new OperatorError(EXIT.refused, `admin API answered ${res.status}: ${detail.replace(/\s*\n\s*/g, '; ')}`);
    }
    return text === '' ? undefined : JSON.parse(text);
  }

  #client(realm: string, id: string, suffix = ''): string {
    return `/realms/${encodeURIComponent(realm)}/clients/${encodeURIComponent(id)}${suffix}`;
  }

  // Results are shaped as the local operations' (AuthorizationServer), so the output is the same.
  async createClient(realm: string, input: ClientMetadataInput, _actor?: unknown): Promise<ClientWriteResult> {
    const v = (await this.#call('POST', `/realms/${encodeURIComponent(realm)}/clients`, input)) as View & { client_secret?: string };
    return v.client_secret === undefined ? { client: v.client } : { client: v.client, client_secret: v.client_secret };
  }

  async listClients(realm: string, options: { after?: string; limit?: number } = {}): Promise<Record<string, unknown>[]> {
    const q = new URLSearchParams();
    if (options.limit !== undefined) q.set('limit', String(Math.min(200, options.limit)));
    if (options.after !== undefined) q.set('cursor', Buffer.from(options.after, 'utf8').toString('base64url'));
    const page = (await this.#call('GET', `/realms/${encodeURIComponent(realm)}/clients?${q}`)) as { clients: View[] };
    return page.clients.map((v) => v.client);
  }

  async getClient(realm: string, id: string): Promise<Record<string, unknown>> {
    return ((await this.#call('GET', this.#client(realm, id))) as View).client;
  }

  async setClientDisabled(realm: string, id: string, disabled: boolean, opts: { revokeTokens?: boolean } = {}): Promise<Record<string, unknown>> {
    return ((await this.#call('POST', this.#client(realm, id, disabled ? '/disable' : '/enable'), disabled && opts.revokeTokens ? { revoke_tokens: true } : undefined)) as View).client;
  }

  async deleteClient(realm: string, id: string, _actor?: unknown): Promise<void> {
    await this.#call('DELETE', this.#client(realm, id));
  }

  async rotateClientSecret(realm: string, id: string, opts: { graceSeconds?: number; revokeTokens?: boolean } = {}): Promise<ClientWriteResult & { client_secret: string }> {
    // As the local command: the old secret stops at once unless a grace is given.
    const v = (await this.#call('POST', this.#client(realm, id, '/secret/rotate'), { grace_seconds: opts.graceSeconds ?? 0, ...(opts.revokeTokens ? { revoke_tokens: true } : {}) })) as View & { client_secret: string };
    return { client: v.client, client_secret: v.client_secret };
  }

  async listKeys(realm: string): Promise<Array<{ kid: string; alg: string; state: string; activatesAt: number }>> {
    const res = (await this.#call('GET', `/realms/${encodeURIComponent(realm)}/keys`)) as { keys: Array<{ kid: string; alg: string; state: string; activates_at: number }> };
    return res.keys.map((k) => ({ kid: k.kid, alg: k.alg, state: k.state, activatesAt: k.activates_at * 1000 }));
  }

  async rotateKeys(realm: string, opts: { immediate?: boolean } = {}): Promise<{ kid: string; activatesAt: number }> {
    const r = (await this.#call('POST', `/realms/${encodeURIComponent(realm)}/keys/rotate`, { immediate: Boolean(opts.immediate) })) as { kid: string; activates_at: number };
    return { kid: r.kid, activatesAt: r.activates_at * 1000 };
  }

  /** The realm operations, in the shape of the local admin service (server.admin). */
  readonly admin = {
    listRealms: async (_actor?: unknown): Promise<RealmView[]> => ((await this.#call('GET', '/realms')) as { realms: RealmView[] }).realms.map(withoutAdminFlag),
    getRealm: async (_actor: unknown, name: string): Promise<RealmView> => withoutAdminFlag((await this.#call('GET', `/realms/${encodeURIComponent(name)}`)) as RealmView),
    createRealm: async (_actor: unknown, input: RealmInput): Promise<RealmView> => withoutAdminFlag((await this.#call('POST', '/realms', input)) as RealmView),
    deleteRealm: async (_actor: unknown, name: string): Promise<void> => void (await this.#call('DELETE', `/realms/${encodeURIComponent(name)}`)),
  };

  async revokeKey(realm: string, kid: string, opts: { promoteSuccessor?: boolean } = {}): Promise<void> {
    await this.#call('POST', `/realms/${encodeURIComponent(realm)}/keys/${encodeURIComponent(kid)}/revoke`, opts.promoteSuccessor ? { promote_successor: true } : undefined);
  }
}

/**
 * Gives the clients and keys commands `--url` (env TESSERA_ADMIN_URL); returns a getter of the URL
 * the running command was given, read by the CLI before it opens local storage.
 */
export function addRemoteOption(program: Command): () => string | undefined {
  let url: string | undefined;
  // Only the commands that go through these operations (the others run on local storage only).
  const remote: Record<string, string[]> = { clients: ['create', 'list', 'show', 'disable', 'enable', 'delete', 'rotate-secret'], keys: ['list', 'rotate', 'revoke'], realms: ['list', 'show', 'create', 'delete'] };
  for (const [group, names] of Object.entries(remote)) {
    const parent = program.commands.find((c) => c.name() === group);
    for (const cmd of parent?.commands.filter((c) => names.includes(c.name())) ?? []) {
      cmd.addOption(new Option('--url <url>', "a Tessera server's base URL: run against its admin API (credentials from TESSERA_ADMIN_CLIENT_ID and TESSERA_ADMIN_CLIENT_SECRET or TESSERA_ADMIN_PRIVATE_KEY)").env('TESSERA_ADMIN_URL'));
    }
  }
  program.hook('preAction', (_program, action) => {
    url = (action.opts() as { url?: string }).url;
  });
  return () => url;
}
