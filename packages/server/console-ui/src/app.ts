// The Tessera console front end: plain TypeScript, no framework. Every call goes to the
// backend-for-frontend under /console/api (session cookie + CSRF header); it never sees a token.
type Attrs = Record<string, string | boolean | ((e: Event) => void) | undefined>;
type Child = Node | string | null | undefined | false;

function h(tag: string, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

interface Session { subject: string; scope: string; csrf: string; admin_realm: string; issuer: string }
let session: Session | undefined;
let realm = 'default';
const main = () => document.getElementById('main')!;

class ApiError extends Error {
  constructor(readonly status: number, readonly body: { detail?: string; title?: string; errors?: unknown }) {
    super(body.detail ?? body.title ?? `HTTP ${status}`);
  }
}

async function api<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const init: RequestInit = { method, headers: { ...headers }, credentials: 'same-origin' };
  if (method !== 'GET' && session) (init.headers as Record<string, string>)['x-csrf-token'] = session.csrf;
  if (body !== undefined) {
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(`/console/api${path}`, init);
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new ApiError(res.status, json ?? {});
  return json as T;
}
const admin = <T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>) => api<T>(method, `/admin${path}`, body, headers);
const enc = encodeURIComponent;
const when = (seconds: number) => new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

function show(title: string, ...content: Child[]) {
  document.title = `${title} · Tessera console`;
  const m = main();
  m.replaceChildren(h('h1', {}, title), ...content.filter((c): c is Node | string => !!c));
  m.focus();
  for (const a of document.querySelectorAll('nav a')) {
    if ((a as HTMLAnchorElement).hash === `#/${location.hash.slice(2).split('/')[0]}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}
/** A table that scrolls sideways on a narrow window; focusable so the keyboard can scroll it. */
const scroller = (label: string, table: HTMLElement) => h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': label }, table);
const errorBox = (e: unknown) => h('p', { role: 'alert', class: 'warn' }, e instanceof Error ? e.message : String(e));

// ---- applications ----------------------------------------------------------------------------
async function appsPage(query = '') {
  const q = new URLSearchParams(query);
  const params = new URLSearchParams({ limit: '200' });
  if (q.get('q')) params.set('q', q.get('q')!);
  if (q.get('disabled')) params.set('disabled', q.get('disabled')!);
  const list = await admin<{ clients: { client: any }[] }>('GET', `/realms/${enc(realm)}/clients?${params}`);
  const search = h('input', { id: 'q', type: 'search', value: q.get('q') ?? '' }) as HTMLInputElement;
  const status = h('select', { id: 'status' }, h('option', { value: '' }, 'any'), h('option', { value: 'false' }, 'enabled'), h('option', { value: 'true' }, 'disabled')) as HTMLSelectElement;
  status.value = q.get('disabled') ?? '';
  const filter = h('form', { role: 'search', onsubmit: (e) => { e.preventDefault(); location.hash = `#/apps?${new URLSearchParams({ ...(search.value ? { q: search.value } : {}), ...(status.value ? { disabled: status.value } : {}) })}`; } },
    h('label', { for: 'q' }, 'Search by id or name'), search, h('label', { for: 'status' }, 'Status'), status, h('button', { type: 'submit' }, 'Search'));
  show('Applications', realmPicker(), filter, h('p', {}, h('a', { href: '#/apps/new' }, '+ Register an application')),
    scroller('Applications', h('table', { id: 'apps' }, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Client id'), h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Method'), h('th', { scope: 'col' }, 'Scopes'))),
      h('tbody', {}, list.clients.map(({ client: c }) => h('tr', {}, h('td', {}, h('a', { href: `#/apps/${enc(c.client_id)}` }, c.client_id)), h('td', {}, c.client_name ?? ''), h('td', { class: c.disabled ? 'status-disabled' : '' }, c.disabled ? 'disabled' : 'enabled'), h('td', {}, c.token_endpoint_auth_method), h('td', {}, c.scope)))))));
}

function realmPicker(): HTMLElement {
  const sel = h('select', { id: 'realm', onchange: (e) => { realm = (e.target as HTMLSelectElement).value; void route(); } }) as HTMLSelectElement;
  void admin<{ realms: { name: string }[] }>('GET', '/realms').then((r) => {
    for (const x of r.realms) sel.append(h('option', { value: x.name }, x.name));
    sel.value = realm;
  }).catch(() => sel.append(h('option', { value: realm }, realm)));
  return h('p', {}, h('label', { for: 'realm' }, 'Realm'), sel);
}

const PRIVATE_KEY = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----|"d"\s*:/;

function field(id: string, label: string, input: HTMLElement, hint?: string): HTMLElement[] {
  input.id = id;
  if (hint) input.setAttribute('aria-describedby', `${id}-hint`);
  return [h('label', { for: id }, label), input, hint ? h('div', { id: `${id}-hint`, class: 'hint' }, hint) : null].filter(Boolean) as HTMLElement[];
}

const PRIVATE_WARNING = 'This is a PRIVATE key. Keep it with the application; paste only its public key or certificate. Nothing was sent.';

/** The upload body for a pasted key: JSON (JWK or JWK Set) as is, anything else as PEM. */
function keyBody(text: string): unknown {
  const t = text.trim();
  if (t.startsWith('{')) {
    try { return JSON.parse(t); } catch { throw new Error('The key looks like JSON but does not parse: paste a JWK, a JWK Set, a PEM public key or a certificate.'); }
  }
  return { pem: t };
}

/** The outcome of a live JWKS URL check: the keys found, or the exact error. */
function jwksCheckView(r: { ok: boolean; uri: string; keys: { kid?: string; kty: string; alg?: string; crv?: string }[]; error?: string; reason?: string; elapsed_ms: number }): HTMLElement {
  return h('div', { id: 'jwks-check', role: 'status' },
    h('p', { class: r.ok ? 'ok' : 'warn' }, r.ok ? `JWKS URL checked: ${r.keys.length} key(s) found in ${r.elapsed_ms} ms.` : `JWKS URL check failed (${r.reason ?? 'error'}): ${r.error ?? ''}`),
    r.keys.length ? h('ul', {}, r.keys.map((k) => h('li', {}, `kid ${k.kid ?? '(none)'} · ${k.kty}${k.crv ? ` ${k.crv}` : ''}${k.alg ? ` · alg ${k.alg}` : ''}`))) : null);
}

const keyList = (keys: { kid?: unknown; kty?: unknown; crv?: unknown; alg?: unknown; x5c?: unknown }[]) =>
  h('ul', { class: 'keys' }, keys.map((k) => h('li', {}, `kid ${String(k.kid)} · ${String(k.kty)}${k.crv ? ` ${String(k.crv)}` : ''}${k.alg ? ` · alg ${String(k.alg)}` : ''}${k.x5c ? ' · certificate' : ''}`)));

function newAppPage() {
  const name = h('input', { required: true }) as HTMLInputElement;
  const owners = h('input', {}) as HTMLInputElement;
  const id = h('input', {}) as HTMLInputElement;
  const method = h('select', {}, ...['client_secret_basic', 'client_secret_post', 'private_key_jwt'].map((m) => h('option', { value: m }, m))) as HTMLSelectElement;
  const secret = h('input', { type: 'password', autocomplete: 'new-password' }) as HTMLInputElement;
  const scopes = h('input', {}) as HTMLInputElement;
  const grants = h('select', {}, h('option', { value: 'client_credentials' }, 'client_credentials')) as HTMLSelectElement;
  const ttl = h('input', { type: 'number', min: '1', inputmode: 'numeric' }) as HTMLInputElement;
  const aud = h('input', {}) as HTMLInputElement;
  const key = h('textarea', {}) as HTMLTextAreaElement;
  const jwksUri = h('input', { type: 'url' }) as HTMLInputElement;
  const keyWarn = h('p', { role: 'alert', class: 'warn', id: 'key-warning' });
  const keyPreview = h('div', { id: 'key-preview', 'aria-live': 'polite' });
  const out = h('div', { 'aria-live': 'polite' });
  const jwtBox = h('fieldset', { hidden: true }, h('legend', {}, 'Public key (private_key_jwt)'),
    ...field('key', 'Public key: PEM, JWK, JWK Set or X.509 certificate', key, 'Never paste a private key: it is refused here and never sent.'), keyWarn, keyPreview,
    ...field('jwks_uri', 'or a JWKS URL', jwksUri, 'Checked live after registration.'));
  method.addEventListener('change', () => { jwtBox.hidden = method.value !== 'private_key_jwt'; });
  key.addEventListener('input', () => { keyWarn.textContent = PRIVATE_KEY.test(key.value) ? PRIVATE_WARNING : ''; keyPreview.replaceChildren(); });
  // Checked when the field is left: what the server would register (never a private key: refused here first).
  key.addEventListener('change', async () => {
    if (!key.value.trim() || PRIVATE_KEY.test(key.value)) return;
    try { const r = await admin<{ keys: any[] }>('POST', '/keys/parse', keyBody(key.value)); keyPreview.replaceChildren(h('p', { class: 'ok' }, 'Public key recognised:'), keyList(r.keys)); }
    catch (err) { keyPreview.replaceChildren(errorBox(err)); }
  });
  const submit = async (e: Event) => {
    e.preventDefault();
    out.replaceChildren();
    if (method.value === 'private_key_jwt' && PRIVATE_KEY.test(key.value)) { keyWarn.textContent = PRIVATE_WARNING; key.focus(); return; }
    if (method.value === 'private_key_jwt' && !key.value.trim() === !jwksUri.value.trim()) { out.replaceChildren(errorBox(new Error('For private_key_jwt, paste a public key or give a JWKS URL (one of the two).'))); return; }
    const clientId = id.value.trim() || `app-${crypto.randomUUID().slice(0, 8)}`;
    const body: Record<string, unknown> = { client_id: clientId, client_name: name.value.trim(), token_endpoint_auth_method: method.value, grant_types: [grants.value] };
    if (owners.value.trim()) body.owners = owners.value.split(',').map((s) => s.trim()).filter(Boolean);
    if (scopes.value.trim()) body.scope = scopes.value.trim();
    if (ttl.value) body.access_token_ttl = Number(ttl.value);
    const auds = aud.value.split(/[\s,]+/).filter(Boolean);
    if (auds.length) { body.allowed_resources = auds; body.default_resource = auds[0]; }
    if (method.value !== 'private_key_jwt' && secret.value) body.client_secret = secret.value;
    if (method.value === 'private_key_jwt' && jwksUri.value.trim()) body.jwks_uri = jwksUri.value.trim();
    try {
      if (method.value === 'private_key_jwt' && key.value.trim()) body.jwks = { keys: (await admin<{ keys: unknown[] }>('POST', '/keys/parse', keyBody(key.value))).keys };
      const created = await admin('POST', `/realms/${enc(realm)}/clients`, body);
      let check: Child = null;
      if (method.value === 'private_key_jwt' && jwksUri.value.trim()) {
        check = await admin('POST', `/realms/${enc(realm)}/clients/${enc(clientId)}/jwks-uri/check`, {}).then(jwksCheckView, (err: Error) => errorBox(err));
      }
      (e.target as HTMLFormElement).reset(); // a second click registers nothing twice
      keyPreview.replaceChildren();
      jwtBox.hidden = true;
      out.replaceChildren(...([h('h2', {}, `Registered ${clientId}`),
        created.client_secret ? h('div', {}, h('p', { class: 'warn' }, 'Client secret, shown once: copy it now.'), h('p', { class: 'secret', id: 'new-secret' }, created.client_secret)) : null, check,
        h('p', {}, h('a', { href: `#/apps/${enc(clientId)}` }, 'Open the application page'))] as Child[]).filter((c): c is Node | string => !!c));
    } catch (err) { out.replaceChildren(errorBox(err)); }
  };
  show('Register an application', h('form', { onsubmit: submit },
    ...field('name', 'Name', name), ...field('owners', 'Owners', owners, 'Comma separated.'),
    ...field('client_id', 'Client id', id, 'Leave empty to generate one.'), ...field('method', 'Authentication method', method),
    ...field('secret', 'Client secret', secret, 'Leave empty to have one generated and shown once.'),
    ...field('scopes', 'Scopes', scopes, 'Space separated.'), ...field('grants', 'Grant types', grants),
    ...field('ttl', 'Token lifetime (seconds)', ttl), ...field('audiences', 'Audiences (resources)', aud, 'Space or comma separated URIs; the first is the default.'),
    jwtBox, h('button', { type: 'submit' }, 'Register')), out);
}

async function appPage(clientId: string) {
  const base = `/realms/${enc(realm)}/clients/${enc(clientId)}`;
  const view = await admin('GET', base);
  const c = view.client;
  const out = h('div', { 'aria-live': 'polite', id: 'app-result' });
  const credOut = h('div', { 'aria-live': 'polite', id: 'credentials-result' });
  const keysOut = h('div', { 'aria-live': 'polite', id: 'keys-result' });
  const act = (label: string, fn: () => Promise<Child>, opts: { confirm?: string; danger?: boolean; into?: HTMLElement; aria?: string } = {}) =>
    h('button', { type: 'button', class: opts.danger ? 'danger' : undefined, 'aria-label': opts.aria, onclick: async () => {
      if (opts.confirm && !confirm(opts.confirm)) return;
      const target = opts.into ?? out;
      try { target.replaceChildren((await fn()) || ''); } catch (err) { target.replaceChildren(errorBox(err)); }
    } }, label);
  const newKey = h('textarea', {}) as HTMLTextAreaElement;
  const newKeyWarn = h('p', { role: 'alert', class: 'warn', id: 'app-key-warning' });
  newKey.addEventListener('input', () => { newKeyWarn.textContent = PRIVATE_KEY.test(newKey.value) ? PRIVATE_WARNING : ''; });
  const grace = h('input', { type: 'number', min: '0', value: '86400' }) as HTMLInputElement;
  const meta = await admin<{ issuer: string }>('GET', `/realms/${enc(realm)}`);
  const tokenEndpoint = `${meta.issuer}/oauth2/token`;
  const usesAssertion = c.token_endpoint_auth_method === 'private_key_jwt' || c.token_endpoint_auth_method === 'client_secret_jwt';
  const curl = usesAssertion
    ? `curl -s ${tokenEndpoint} \\\n  -d grant_type=client_credentials \\\n  -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \\\n  -d client_assertion="$ASSERTION"${c.default_resource ? ` \\\n  -d resource=${c.default_resource}` : ''}`
    : c.token_endpoint_auth_method === 'client_secret_post'
      ? `curl -s ${tokenEndpoint} \\\n  -d grant_type=client_credentials -d client_id=${c.client_id} -d client_secret="$CLIENT_SECRET"${c.default_resource ? ` \\\n  -d resource=${c.default_resource}` : ''}`
      : `curl -s -u '${c.client_id}:'"$CLIENT_SECRET" ${tokenEndpoint} \\\n  -d grant_type=client_credentials${c.default_resource ? ` \\\n  -d resource=${c.default_resource}` : ''}`;
  show(c.client_name ? `${c.client_name} (${c.client_id})` : c.client_id,
    h('p', {}, 'Status: ', h('strong', { id: 'app-status', class: c.disabled ? 'status-disabled' : 'ok' }, c.disabled ? 'disabled' : 'enabled')),
    h('dl', {}, h('dt', {}, 'Method'), h('dd', {}, c.token_endpoint_auth_method), h('dt', {}, 'Scopes'), h('dd', {}, c.scope || '—'),
      h('dt', {}, 'Audiences'), h('dd', {}, (c.allowed_resources ?? []).join(' ') || '—'), h('dt', {}, 'Owners'), h('dd', {}, (c.owners ?? []).join(', ') || '—'),
      view.previous_secret_expires_at ? [h('dt', {}, 'Previous secret works until'), h('dd', {}, when(view.previous_secret_expires_at))] : null),
    h('h2', {}, 'Credentials'),
    c.token_endpoint_auth_method.startsWith('client_secret') ? h('div', {}, ...field('grace', 'Old secret keeps working for (seconds)', grace),
      act('Rotate secret', async () => {
        const r = await admin('POST', `${base}/secret/rotate`, { grace_seconds: Number(grace.value) });
        return h('div', {}, h('p', { class: 'warn' }, 'New client secret, shown once:'), h('p', { class: 'secret', id: 'rotated-secret' }, r.client_secret),
          h('p', { id: 'old-until' }, r.previous_secret_expires_at ? `The previous secret works until ${when(r.previous_secret_expires_at)}.` : 'The previous secret no longer works.'));
      }, { into: credOut }), credOut) : null,
    h('h2', {}, 'Keys'),
    c.jwks ? h('ul', { class: 'keys', id: 'app-keys' }, (c.jwks.keys as any[]).map((k) => h('li', {}, `kid ${k.kid} · ${k.kty}${k.crv ? ` ${k.crv}` : ''}${k.alg ? ` · alg ${k.alg}` : ''}${k.x5c ? ' · certificate' : ''} `,
      c.jwks.keys.length > 1 ? act('Remove', async () => { await admin('DELETE', `${base}/keys/${enc(k.kid)}`); await appPage(clientId); return null; }, { confirm: `Remove key ${k.kid}? Assertions signed with it will be refused.`, danger: true, into: keysOut, aria: `Remove key ${k.kid}` }) : null)))
      : h('p', {}, c.jwks_uri ? ['JWKS URL: ', h('code', {}, c.jwks_uri)] : c.token_endpoint_auth_method === 'private_key_jwt' ? 'No keys.' : 'Authenticates with a client secret: no keys.'),
    c.jwks_uri ? act('Check the JWKS URL now', async () => jwksCheckView(await admin('POST', `${base}/jwks-uri/check`, {})), { into: keysOut }) : null,
    c.jwks ? h('form', { onsubmit: async (e) => {
      e.preventDefault();
      if (PRIVATE_KEY.test(newKey.value)) { newKeyWarn.textContent = PRIVATE_WARNING; newKey.focus(); return; }
      try { await admin('POST', `${base}/keys`, keyBody(newKey.value)); await appPage(clientId); } catch (err) { keysOut.replaceChildren(errorBox(err)); }
    } }, ...field('new-key', 'Add a public key: PEM, JWK, JWK Set or X.509 certificate', newKey, 'For a key rollover: add the new key, switch the application, then remove the old one.'), newKeyWarn, h('button', { type: 'submit' }, 'Add key')) : null,
    keysOut,
    h('h2', {}, 'Status'),
    c.disabled ? act('Enable', async () => { await admin('POST', `${base}/enable`); await appPage(clientId); return null; })
      : act('Disable', async () => { await admin('POST', `${base}/disable`, { revoke_tokens: true }); await appPage(clientId); return null; }, { confirm: `Disable ${clientId}? Its token requests will be refused and its tokens revoked.`, danger: true }),
    act('Delete', async () => { await admin('DELETE', base); location.hash = '#/apps'; return null; }, { confirm: `Delete ${clientId}? This cannot be undone.`, danger: true }),
    h('h2', {}, 'Try it'), h('pre', { id: 'try-curl', tabindex: '0', 'aria-label': 'curl command' }, curl),
    usesAssertion ? h('p', { class: 'hint' }, c.token_endpoint_auth_method === 'client_secret_jwt' ? 'ASSERTION: a JWT MACed with the client secret (HS256), with iss and sub ' : 'ASSERTION: a JWT signed with the private key, with iss and sub ', h('code', {}, c.client_id), ', aud ', h('code', {}, meta.issuer), ' (or the token endpoint), a fresh jti and exp a minute ahead.')
      : h('p', { class: 'hint' }, 'CLIENT_SECRET: the secret shown once at registration or rotation.'),
    h('p', {}, h('a', { href: `#/failures?client_id=${enc(clientId)}` }, 'Recorded failures of this application')), out);
}

// ---- failures --------------------------------------------------------------------------------
/** Reason codes in words (the recorded hint says what to change). */
const REASON_WORDS: Record<string, string> = {
  unspecified: 'Refused (no detailed reason recorded)',
  client_unknown: 'Unknown client id', unknown_client: 'Unknown client id',
  secret_mismatch: 'Wrong client secret',
  client_disabled: 'The client is disabled',
  method_mismatch: 'Wrong authentication method for this client',
  method_not_allowed: 'Authentication method not accepted by this realm',
  assertion_expired: 'The client assertion has expired',
  iat_in_future: 'The assertion was issued in the future (clock skew)',
  nbf_in_future: 'The assertion is not valid yet (clock skew)',
  aud_mismatch: 'The assertion audience (aud) is wrong',
  kid_not_found: 'No registered key matches the assertion kid',
  jwks_uri_fetch_failed: 'The client JWKS URL could not be fetched',
  jti_replayed: 'The assertion was used twice (jti replayed)',
  signature_invalid: 'The assertion signature does not verify',
  alg_not_allowed: 'Signing algorithm not allowed', alg_mismatch: 'Signing algorithm differs from the registered one',
  scope_not_allowed: 'A requested scope is not allowed for this client',
  no_default_scope: 'No scope requested and the client has no default scope',
  resource_not_allowed: 'The requested audience (resource) is not allowed for this client',
  grant_not_allowed: 'The client may not use this grant type',
  throttled: 'Too many failed attempts (throttled)',
  failures_dropped: 'Failures dropped (flood)',
};
const reasonWords = (code: string) => REASON_WORDS[code] ?? code.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

const RECEIVED = ['got', 'requested', 'received'];
const EXPECTED = ['expected', 'allowed', 'registered', 'known'];
const show1 = (v: unknown) => (Array.isArray(v) ? v.map(String).join(' ') || '(none)' : v === null || v === undefined ? '(none)' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Expected vs received, then the other facts; clock facts as a skew in seconds. */
function factsView(facts: Record<string, unknown>): HTMLElement {
  const rows: [string, string][] = [];
  const used = new Set<string>();
  for (const k of EXPECTED) if (k in facts) { rows.push(['Expected', show1(facts[k])]); used.add(k); }
  for (const k of RECEIVED) if (k in facts) { rows.push(['Received', show1(facts[k])]); used.add(k); }
  if (typeof facts.now === 'number' && typeof facts.exp === 'number') {
    rows.push(['Clock', `expired ${facts.now - facts.exp} s before the server time (skew allowed: ${show1(facts.skew ?? 0)} s)`]);
    for (const k of ['now', 'exp', 'skew']) used.add(k);
  }
  for (const [k, v] of Object.entries(facts)) if (!used.has(k)) rows.push([k.replace(/_/g, ' '), show1(v)]);
  if (rows.length === 0) return h('span', {}, '—');
  return h('dl', { class: 'facts' }, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

interface Activity { from: number; step_seconds: number; issued: number[]; failures: number[] }

/** Tokens issued (green) and failures (red) per minute as an inline SVG bar chart. */
function activityChart(id: string, title: string, a: Activity): HTMLElement {
  const NS = 'http://www.w3.org/2000/svg';
  const el = (tag: string, attrs: Record<string, string | number>) => { const e = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v)); return e; };
  const n = a.issued.length;
  const W = 600, H = 120, top = 8, bottom = 20, left = 30;
  const max = Math.max(1, ...a.issued, ...a.failures);
  const slot = (W - left) / n;
  const bar = Math.max(1, slot / 2 - 1);
  const issued = a.issued.reduce((x, y) => x + y, 0);
  const failed = a.failures.reduce((x, y) => x + y, 0);
  const plural = (k: number, one: string, many: string) => `${k} ${k === 1 ? one : many}`;
  const summary = `${title}: ${plural(issued, 'token', 'tokens')} issued and ${plural(failed, 'failure', 'failures')} in the last ${n} minutes`;
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${id}-title`, class: 'chart', id });
  const t = el('title', { id: `${id}-title` }); t.textContent = summary; svg.append(t);
  const y = (v: number) => H - bottom - (v / max) * (H - top - bottom);
  svg.append(el('line', { x1: left, y1: H - bottom, x2: W, y2: H - bottom, stroke: '#555' }));
  const maxLabel = el('text', { x: left - 4, y: top + 8, 'text-anchor': 'end', 'font-size': 10, fill: '#333' }); maxLabel.textContent = String(max); svg.append(maxLabel);
  for (let i = 0; i < n; i++) {
    const x = left + i * slot;
    const at = new Date((a.from + i * a.step_seconds) * 1000).toISOString().slice(11, 16);
    for (const [v, dx, cls, what] of [[a.issued[i]!, 0, 'issued', 'tokens issued'], [a.failures[i]!, bar, 'failed', 'failures']] as const) {
      if (!v) continue;
      const r = el('rect', { x: x + dx, y: y(v), width: bar, height: H - bottom - y(v), class: cls });
      const tip = el('title', {}); tip.textContent = `${at} UTC: ${v} ${what}`; r.append(tip);
      svg.append(r);
    }
  }
  for (const i of [0, n - 1]) {
    const lbl = el('text', { x: left + i * slot + (i ? slot : 0), y: H - 5, 'text-anchor': i ? 'end' : 'start', 'font-size': 10, fill: '#333' });
    lbl.textContent = `${new Date((a.from + i * a.step_seconds) * 1000).toISOString().slice(11, 16)} UTC`;
    svg.append(lbl);
  }
  return h('figure', { class: 'chart' }, svg as unknown as HTMLElement,
    h('figcaption', {}, title, ': ', h('span', { class: 'key issued' }, `${plural(issued, 'token', 'tokens')} issued`), ', ', h('span', { class: 'key failed' }, plural(failed, 'failure', 'failures')), ` (last ${n} minutes, this server instance)`));
}

const WINDOWS: [string, string][] = [['', 'any time'], ['900', 'last 15 minutes'], ['3600', 'last hour'], ['86400', 'last 24 hours'], ['604800', 'last 7 days']];

async function failuresPage(query = '') {
  const q = new URLSearchParams(query);
  const clientId = q.get('client_id') ?? '';
  const windowS = q.get('window') ?? '';
  const params = new URLSearchParams({ limit: '500', ...(clientId ? { client_id: clientId } : {}), ...(windowS ? { since: String(Math.floor(Date.now() / 1000) - Number(windowS)) } : {}) });
  const [list, realmActivity, clientActivity] = await Promise.all([
    admin<{ failures: any[] }>('GET', `/realms/${enc(realm)}/failures?${params}`),
    admin<Activity>('GET', `/realms/${enc(realm)}/activity?minutes=30`).catch(() => undefined),
    clientId ? admin<Activity>('GET', `/realms/${enc(realm)}/activity?minutes=30&client_id=${enc(clientId)}`).catch(() => undefined) : Promise.resolve(undefined),
  ]);
  // Repeats of the same refusal (client, reason, values) from any source are one row with a count.
  const groups = new Map<string, { f: any; count: number; first: number; last: number; sources: Set<string> }>();
  for (const f of list.failures) {
    const key = JSON.stringify([f.client_id, f.endpoint, f.error, f.reason, f.facts]);
    const g = groups.get(key);
    if (g) { g.count += f.count; g.first = Math.min(g.first, f.first_seen); g.last = Math.max(g.last, f.last_seen); if (f.source) g.sources.add(f.source); }
    else groups.set(key, { f, count: f.count, first: f.first_seen, last: f.last_seen, sources: new Set(f.source ? [f.source] : []) });
  }
  const rows = [...groups.values()].sort((a, b) => b.last - a.last);
  const input = h('input', { type: 'search', value: clientId, autocomplete: 'off' }) as HTMLInputElement;
  const win = h('select', {}, ...WINDOWS.map(([v, t]) => h('option', { value: v }, t))) as HTMLSelectElement;
  win.value = windowS;
  show('Failure explorer', realmPicker(),
    h('form', { role: 'search', 'aria-label': 'Filter failures', onsubmit: (e) => { e.preventDefault(); const p = new URLSearchParams({ ...(input.value ? { client_id: input.value } : {}), ...(win.value ? { window: win.value } : {}) }); location.hash = `#/failures${p.size ? `?${p}` : ''}`; } },
      ...field('fclient', 'Client id', input), ...field('fwindow', 'Time', win), h('button', { type: 'submit' }, 'Filter')),
    h('h2', {}, 'Tokens and failures per minute'),
    realmActivity ? activityChart('chart-realm', `Realm ${realm}`, realmActivity) : null,
    clientActivity ? activityChart('chart-client', `Application ${clientId}`, clientActivity) : null,
    h('h2', {}, 'Recorded failures, newest first'),
    rows.length === 0 ? h('p', { id: 'no-failures' }, 'No recorded failures.') :
      scroller('Recorded failures', h('table', { id: 'failures' }, h('caption', {}, `${rows.length} kinds of failure, ${rows.reduce((n, r) => n + r.count, 0)} refused requests`),
        h('thead', {}, h('tr', {}, ...['Last seen', 'Client', 'Count', 'Reason', 'Expected / received', 'What to change'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, rows.map(({ f, count, first, last, sources }) => h('tr', {},
          h('td', {}, when(last), count > 1 ? h('div', { class: 'hint' }, `first ${when(first)}`) : null),
          h('td', {}, f.client_id ? h('a', { href: `#/failures?client_id=${enc(f.client_id)}` }, f.client_id) : '—'),
          h('td', { class: 'count' }, String(count)),
          h('td', {}, h('strong', {}, reasonWords(f.reason)), h('div', { class: 'hint' }, `${f.endpoint} endpoint · ${f.error} · ${f.reason}${sources.size ? ` · from ${[...sources].join(', ')}` : ''}`)),
          h('td', {}, factsView(f.facts)), h('td', {}, f.hint)))))));
}

// ---- keys, realms, audit ----------------------------------------------------------------------
const KEY_STATES: Record<string, string> = { next: 'pre-published (in the JWKS, signs later)', active: 'active (signs tokens)', retired: 'retired (in the JWKS until its tokens expire)', expired: 'expired' };
const duration = (s: number) => (s % 86400 === 0 ? `${s / 86400} d` : s % 3600 === 0 ? `${s / 3600} h` : s % 60 === 0 ? `${s / 60} min` : `${s} s`);

async function keysPage() {
  const [keys, pub] = await Promise.all([admin<{ keys: any[] }>('GET', `/realms/${enc(realm)}/keys`), admin<{ jwks_uri: string; jwks: unknown; pre_publish_seconds: number; rotate_every_seconds: number | null }>('GET', `/realms/${enc(realm)}/jwks`)]);
  const out = h('div', { 'aria-live': 'polite', id: 'keys-result' });
  const immediate = h('input', { type: 'checkbox' }) as HTMLInputElement;
  show('Signing keys', realmPicker(),
    h('p', { id: 'rotation' }, pub.rotate_every_seconds ? `Scheduled rotation: every ${duration(pub.rotate_every_seconds)}` : 'Scheduled rotation: off (keys.rotate_every)', `; a new key is pre-published ${duration(pub.pre_publish_seconds)} before it signs.`),
    scroller('Signing keys', h('table', { id: 'keys' }, h('caption', {}, `Keys of realm ${realm}`),
      h('thead', {}, h('tr', {}, ...['kid', 'alg', 'state', 'signs from', ''].map((t) => h('th', { scope: 'col' }, t || h('span', { class: 'sr-only' }, 'Actions'))))),
      h('tbody', {}, keys.keys.map((k) => h('tr', {}, h('td', {}, h('code', {}, k.kid)), h('td', {}, k.alg), h('td', { class: `state-${k.state}` }, KEY_STATES[k.state] ?? k.state), h('td', {}, when(k.activates_at)),
        h('td', {}, k.state === 'expired' ? '' : h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke key ${k.kid}`, onclick: async () => {
          if (!confirm(`Revoke key ${k.kid} now? Tokens it signed stop verifying at once.`)) return;
          try { await admin('POST', `/realms/${enc(realm)}/keys/${enc(k.kid)}/revoke`, k.state === 'active' ? { promote_successor: true } : {}); await keysPage(); document.getElementById('keys-result')?.replaceChildren(`Key ${k.kid} revoked.`); } catch (e) { out.replaceChildren(errorBox(e)); }
        } }, 'Revoke'))))))),
    h('p', {}, h('label', { class: 'inline' }, immediate, ' Sign with the new key at once (skip pre-publication)')),
    h('button', { type: 'button', onclick: async () => { try { const r = await admin('POST', `/realms/${enc(realm)}/keys/rotate`, immediate.checked ? { immediate: true } : {}); await keysPage(); document.getElementById('keys-result')?.replaceChildren(`New key ${r.kid} published; it signs from ${when(r.activates_at)}.`); } catch (e) { out.replaceChildren(errorBox(e)); } } }, 'Rotate now'), out,
    h('h2', {}, 'JWKS as published'), h('p', {}, 'At ', h('code', { id: 'jwks-uri' }, pub.jwks_uri)), h('pre', { id: 'jwks', tabindex: '0', 'aria-label': 'Published JWK Set' }, JSON.stringify(pub.jwks, null, 2)));
}

async function realmsPage() {
  const r = await admin<{ realms: any[] }>('GET', '/realms');
  const name = h('input', { required: true, pattern: '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?', autocomplete: 'off' }) as HTMLInputElement;
  const out = h('div', { 'aria-live': 'polite', id: 'realms-result' });
  show('Realms',
    scroller('Realms', h('table', { id: 'realms' }, h('thead', {}, h('tr', {}, ...['Name', 'Issuer', 'Source', 'Clients', 'Admin realm', ''].map((t) => h('th', { scope: 'col' }, t || h('span', { class: 'sr-only' }, 'Actions'))))),
      h('tbody', {}, r.realms.map((x) => h('tr', {},
        h('td', {}, h('a', { href: '#/apps', onclick: () => { realm = x.name; } }, x.name)), h('td', {}, h('code', {}, x.issuer ?? '')), h('td', {}, x.source === 'config' ? 'configuration file' : 'created at run time'),
        h('td', {}, String(x.client_count)), h('td', {}, x.admin ? 'yes' : ''),
        h('td', {}, x.source === 'runtime' ? h('button', { type: 'button', class: 'danger', 'aria-label': `Delete realm ${x.name}`, onclick: async () => {
          if (!confirm(`Delete realm ${x.name} and everything in it?`)) return;
          try { await admin('DELETE', `/realms/${enc(x.name)}`); if (realm === x.name) realm = 'default'; await realmsPage(); } catch (e) { out.replaceChildren(errorBox(e)); }
        } }, 'Delete') : '')))))),
    h('h2', {}, 'Create a realm'),
    h('form', { onsubmit: async (e) => { e.preventDefault(); try { await admin('POST', '/realms', { name: name.value.trim() }); await realmsPage(); document.getElementById('realms-result')?.replaceChildren(`Realm ${name.value.trim()} created.`); } catch (err) { out.replaceChildren(errorBox(err)); } } },
      ...field('realm-name', 'Name', name, 'Lowercase letters, digits and inner hyphens.'), h('button', { type: 'submit' }, 'Create realm')), out);
}

async function auditPage(query = '') {
  const q = new URLSearchParams(query);
  const params = new URLSearchParams({ limit: '1000' });
  for (const k of ['type', 'client_id', 'realm']) if (q.get(k)) params.set(k, q.get(k)!);
  const [verify, page] = await Promise.all([admin('GET', '/audit/verify'), admin<{ events: any[] }>('GET', `/audit?${params}`)]);
  const events = page.events.slice(-200).reverse();
  const type = h('input', { value: q.get('type') ?? '', autocomplete: 'off' }) as HTMLInputElement;
  const client = h('input', { value: q.get('client_id') ?? '', autocomplete: 'off' }) as HTMLInputElement;
  show('Audit log',
    h('p', { id: 'chain', role: 'status', class: verify.ok ? 'ok' : 'warn' }, verify.ok ? `Chain verified: ${verify.checked} events, intact${verify.anchor ? ` (from the retention anchor at event ${verify.anchor.seq})` : ''}.` : `Chain BROKEN at event ${verify.first_broken_seq}: ${verify.problem ?? ''}`),
    h('form', { role: 'search', 'aria-label': 'Filter the audit log', onsubmit: (e) => { e.preventDefault(); const p = new URLSearchParams({ ...(type.value ? { type: type.value } : {}), ...(client.value ? { client_id: client.value } : {}) }); location.hash = `#/audit${p.size ? `?${p}` : ''}`; } },
      ...field('atype', 'Event type', type, 'Exact, or a prefix ending with .* (e.g. client.*).'), ...field('aclient', 'Client id', client), h('button', { type: 'submit' }, 'Filter')),
    scroller('Audit events', h('table', { id: 'audit' }, h('caption', {}, `Newest ${events.length} events, newest first`),
      h('thead', {}, h('tr', {}, ...['#', 'Time', 'Type', 'Realm', 'Client', 'Who', 'Details'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, events.map((e) => h('tr', {}, h('td', {}, String(e.seq)), h('td', {}, e.time.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')), h('td', {}, e.type), h('td', {}, e.realm ?? ''), h('td', {}, e.client_id ?? ''),
        h('td', {}, e.actor.id, e.actor.source ? h('div', { class: 'hint' }, e.actor.source) : null),
        h('td', {}, Object.keys(e.data).length ? h('details', {}, h('summary', {}, 'data'), h('pre', {}, JSON.stringify(e.data, null, 2))) : '')))))));
}

// ---- shell -----------------------------------------------------------------------------------
async function route() {
  const [path, query = ''] = location.hash.slice(1).split('?');
  const parts = (path || '/apps').split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === 'apps' && parts[1] === 'new') newAppPage();
    else if (parts[0] === 'apps' && parts[1]) await appPage(parts[1]);
    else if (parts[0] === 'failures') await failuresPage(query);
    else if (parts[0] === 'keys') await keysPage();
    else if (parts[0] === 'realms') await realmsPage();
    else if (parts[0] === 'audit') await auditPage(query);
    else await appsPage(query);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return void signedOut('Your session has ended.');
    show('Error', errorBox(err));
  }
}

const SSO_ERRORS: Record<string, string> = {
  not_allowed: 'Single sign-on refused: your account is not allowed to use this console. Ask an operator to add your subject or group to console.sso.',
  failed: 'Single sign-on failed (expired or unknown attempt, or the provider answer was refused). Try again.',
  unavailable: 'The single sign-on provider could not be reached. Try again later, or use a one-time link.',
};

async function signedOut(message = '', alert = false) {
  session = undefined;
  document.getElementById('nav')!.replaceChildren();
  document.getElementById('who')!.replaceChildren();
  const options = await api<{ sso: boolean }>('GET', '/sign-in').catch(() => ({ sso: false }));
  show('Sign in', message ? h('p', alert ? { role: 'alert', class: 'warn', id: 'sign-in-message' } : { id: 'sign-in-message' }, message) : null,
    options.sso ? h('p', {}, h('a', { href: '/console/sso/start', class: 'button', id: 'sso' }, 'Sign in with single sign-on')) : null,
    h('p', {}, options.sso ? 'Or ask' : 'Ask', ' an operator to run ', h('code', {}, 'tessera console login'), ' and open the one-time link it prints.'));
}

async function start() {
  if (location.pathname.endsWith('/console/login')) {
    const token = location.hash.slice(1);
    history.replaceState(null, '', '/console/');
    try { session = await api<Session>('POST', '/session', { token }); } catch (err) { return signedOut(err instanceof Error ? err.message : '', true); }
  } else {
    const ssoError = new URLSearchParams(location.search).get('sso_error');
    if (ssoError) {
      history.replaceState(null, '', '/console/');
      return signedOut(SSO_ERRORS[ssoError] ?? SSO_ERRORS.failed, true);
    }
    try { session = await api<Session>('GET', '/session'); } catch { return signedOut(); }
  }
  document.getElementById('nav')!.replaceChildren(...[['apps', 'Applications'], ['failures', 'Failures'], ['keys', 'Signing keys'], ['realms', 'Realms'], ['audit', 'Audit log']].map(([k, t]) => h('a', { href: `#/${k}` }, t!)));
  document.getElementById('who')!.replaceChildren(`Signed in as ${session.subject} `, h('button', { type: 'button', class: 'plain', onclick: async () => { await api('DELETE', '/session').catch(() => undefined); await signedOut('Signed out.'); } }, 'Sign out'));
  window.addEventListener('hashchange', () => void route());
  await route();
}
void start();
