/**
 * Console single sign-on with the organisation's OpenID Provider: authorization code flow with
 * PKCE (S256), state and nonce, through `openid-client` (loaded only when `console.sso` is set).
 * Each sign-in attempt is a transaction (PKCE verifier, state, nonce, expiry) that the browser
 * carries in a cookie, sealed with the key-encryption key (AES-256-GCM): the provider's redirect
 * may reach any instance of a cluster, and each attempt is used once across the cluster (its state
 * is consumed in the shared replay store). Valid ten minutes. Who may sign in: a subject in `allowed_subjects`, or a member of a
 * group in `allowed_groups` (ID token claim, else the userinfo response).
 */
import { createHash } from 'node:crypto';
import type { ConsoleSsoConfig } from '../../core/config/index.ts';

type OpenIdClient = typeof import('openid-client');

export const SSO_TX_TTL_MS = 10 * 60_000;
const SEAL_PURPOSE = 'console-sso-transaction';

/** What the SSO code needs from the server: sealing for the browser, and a cluster-wide use-once. */
export interface SsoTransactionStore {
  seal(purpose: string, value: string): string;
  unseal(purpose: string, sealed: string): string | undefined;
  /** True the first time `id` is seen (until `expiresAt`), false after; shared by every instance. */
  useOnce(id: string, expiresAt: number): Promise<boolean>;
}

interface Transaction {
  verifier: string;
  state: string;
  nonce: string;
  expires: number;
}

/** Refused after the provider authenticated the person; `reason` is for the log and the page. */
export class SsoRefused extends Error {
  constructor(
    readonly reason: 'not_allowed' | 'failed',
    message: string,
    readonly subject?: string,
  ) {
    super(message);
  }
}

export interface SsoIdentity {
  /** The provider's subject (iss-scoped), what the allow-list names. */
  subject: string;
  /** Shown in the console and the audit trail: email or name when the provider gives one. */
  display: string;
  groups: string[];
}

export class ConsoleSso {
  readonly #cfg: ConsoleSsoConfig;
  readonly #now: () => number;
  readonly #store: SsoTransactionStore;
  #lib: OpenIdClient | undefined;
  #config: import('openid-client').Configuration | undefined;

  constructor(cfg: ConsoleSsoConfig, now: () => number, store: SsoTransactionStore) {
    this.#cfg = cfg;
    this.#now = now;
    this.#store = store;
  }

  async #client(): Promise<{ lib: OpenIdClient; config: import('openid-client').Configuration }> {
    this.#lib ??= await import('openid-client');
    const lib = this.#lib;
    if (!this.#config) {
      const url = new URL(this.#cfg.issuer);
      const insecure = url.protocol === 'http:'; // loopback only (validated by the config schema)
      const auth = this.#cfg.clientSecret ? lib.ClientSecretBasic(this.#cfg.clientSecret) : lib.None();
      this.#config = await lib.discovery(url, this.#cfg.clientId, { redirect_uris: [this.#cfg.redirectUri], response_types: ['code'] }, auth, insecure ? { execute: [lib.allowInsecureRequests] } : undefined);
    }
    return { lib, config: this.#config };
  }

  /** A new transaction: the sealed value for the cookie, and the provider's authorization URL. */
  async start(): Promise<{ id: string; url: string }> {
    const { lib, config } = await this.#client();
    const tx: Transaction = { verifier: lib.randomPKCECodeVerifier(), state: lib.randomState(), nonce: lib.randomNonce(), expires: this.#now() + SSO_TX_TTL_MS };
    const id = this.#store.seal(SEAL_PURPOSE, JSON.stringify(tx));
    const url = lib.buildAuthorizationUrl(config, {
      redirect_uri: this.#cfg.redirectUri,
      scope: this.#cfg.scope,
      code_challenge: await lib.calculatePKCECodeChallenge(tx.verifier),
      code_challenge_method: 'S256',
      state: tx.state,
      nonce: tx.nonce,
    });
    return { id, url: url.href };
  }

  /** The transaction sealed in `sealed`, if it is one of ours and still valid. */
  #open(sealed: string | undefined): Transaction | undefined {
    const json = sealed ? this.#store.unseal(SEAL_PURPOSE, sealed) : undefined;
    if (json === undefined) return undefined;
    try {
      const tx = JSON.parse(json) as Partial<Transaction>;
      const ok = typeof tx.verifier === 'string' && typeof tx.state === 'string' && typeof tx.nonce === 'string' && typeof tx.expires === 'number';
      return ok && tx.expires! > this.#now() ? (tx as Transaction) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Completes the transaction sealed in `sealed` with the provider's redirect query; throws SsoRefused. */
  async finish(sealed: string | undefined, search: string): Promise<SsoIdentity> {
    const tx = this.#open(sealed);
    if (!tx) throw new SsoRefused('failed', 'this sign-in attempt is unknown or has expired; start again');
    // Single use across the cluster, whatever the outcome.
    let first: boolean;
    try {
      first = await this.#store.useOnce(createHash('sha256').update(tx.state).digest('base64url'), tx.expires);
    } catch (err) {
      throw new SsoRefused('failed', `the sign-in attempt could not be checked: ${(err as Error).message}`);
    }
    if (!first) throw new SsoRefused('failed', 'this sign-in attempt was used already; start again');
    const { lib, config } = await this.#client();
    const callback = new URL(this.#cfg.redirectUri);
    callback.search = search;
    let claims: Record<string, unknown>;
    let accessToken: string;
    try {
      const tokens = await lib.authorizationCodeGrant(config, callback, { pkceCodeVerifier: tx.verifier, expectedState: tx.state, expectedNonce: tx.nonce, idTokenExpected: true });
      claims = { ...(tokens.claims() ?? {}) };
      accessToken = tokens.access_token;
    } catch (err) {
      throw new SsoRefused('failed', `the provider's answer was refused: ${(err as Error).message}`);
    }
    const subject = String(claims.sub);
    // Providers often put only `sub` in the ID token: the rest comes from userinfo.
    const needGroups = !(this.#cfg.groupsClaim in claims) && this.#cfg.allowedGroups.length > 0;
    const needName = typeof claims.email !== 'string' && typeof claims.name !== 'string';
    if ((needGroups || needName) && accessToken && config.serverMetadata().userinfo_endpoint) {
      try {
        const info = await lib.fetchUserInfo(config, accessToken, subject);
        for (const [k, v] of Object.entries(info)) if (!(k in claims)) claims[k] = v;
      } catch (err) {
        throw new SsoRefused('failed', `userinfo could not be read: ${(err as Error).message}`, subject);
      }
    }
    const rawGroups = claims[this.#cfg.groupsClaim];
    const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string') : typeof rawGroups === 'string' ? [rawGroups] : [];
    const display = typeof claims.email === 'string' ? claims.email : typeof claims.name === 'string' ? claims.name : subject;
    const allowed = this.#cfg.allowedSubjects.includes(subject) || groups.some((g) => this.#cfg.allowedGroups.includes(g));
    if (!allowed) throw new SsoRefused('not_allowed', `${display} is not allowed to use this console (neither the subject nor a group is on the console.sso allow-lists)`, subject);
    return { subject, display, groups };
  }
}
