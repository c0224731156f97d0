/**
 * fast-check generators of requests to the token, introspection and revocation endpoints. Each
 * request is built from parts (credentials, grant, scope, extra parameters, encoding, headers), and
 * the generator knows whether a part is certainly invalid: then the request must never get a token
 * (`mayIssue: false`). `mayIssue: true` means every part is valid; `undefined` means "not sure"
 * (e.g. a valid request sent with a mangled encoding) and is not judged on that point.
 */
import fc from 'fast-check';
import { createHmac, randomUUID, sign } from 'node:crypto';
import type { TestKey } from '../fixtures/assertions.ts';

export interface Fixture {
  issuer: string;
  tokenEndpoint: string;
  key: TestKey;
  secrets: { basic: string; post: string; jwt: string; healthy: string };
  /** A token issued to fz-healthy; the fuzzer sends only altered copies of it. */
  realToken: string;
}

export interface FuzzRequest {
  endpoint: 'token' | 'introspect' | 'revoke';
  method: string;
  path: string;
  headers: [string, string][];
  body: string | Uint8Array;
  mayIssue: boolean | undefined;
  /** Introspection of a token that is not a real one: must never be active. */
  forgedToken?: boolean;
  why: string;
}

/** A part of a request and whether it is valid (undefined: not sure). */
interface Part {
  headers?: [string, string][];
  params?: [string, string][];
  valid: boolean | undefined;
  why: string;
}

const KNOWN = new Set(['grant_type', 'scope', 'resource', 'audience', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type', 'token', 'token_type_hint']);
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const b64u = (s: string | Buffer) => Buffer.from(s).toString('base64url');

// ---- values of every shape ----------------------------------------------------------------------
const percentJunk = fc.constantFrom('%', '%z', '%zz', '%ff', '%00', '%c0%af', '%ed%a0%80', '%f0%9f', '%f4%90%80%80', '+', '%2B', '%25', '&', '=', '&&=&', '%0d%0a', '\u0000', '\ud800', '\uffff', '%E2%82%AC');
const huge = fc.integer({ min: 1_000, max: 20_000 }).chain((n) => fc.constantFrom('A', '%41', '\u00e9', '[', '{"a":', '.').map((c) => c.repeat(Math.ceil(n / c.length))));
/** JSON values, cheap to generate (fc.jsonValue costs ≈1 ms a value): primitives, and one level of arrays and objects of them. */
const primitive: fc.Arbitrary<unknown> = fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const smallJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: primitive },
  { weight: 1, arbitrary: fc.array(primitive, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), primitive, { maxKeys: 4 }) },
);
const nestedJson = smallJson.map((v) => JSON.stringify(v) ?? 'null');
const DEEP = [100, 1_000, 5_000].map((n) => '['.repeat(n) + ']'.repeat(n));
const deep = fc.constantFrom(...DEEP, '{"a":'.repeat(2_000) + '1' + '}'.repeat(2_000));
const junkString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.array(fc.oneof(percentJunk, fc.string({ maxLength: 5 })), { maxLength: 8 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: nestedJson },
  { weight: 1, arbitrary: huge },
  { weight: 1, arbitrary: deep },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'null', 'undefined', 'NaN', '-1', '1e400', '0x10', 'true', '__proto__', 'constructor', 'a.b.c', '..', 'eyJ', 'Basic', 'client_credentials ') },
);
/** Any JSON value, including huge, deeply nested and special-looking ones. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: smallJson },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 1.5, true, false, null, '', [], {}, { $gt: '' }, ['x'], { __proto__: { admin: true } }) },
  { weight: 1, arbitrary: huge },
  { weight: 1, arbitrary: fc.constantFrom(...DEEP.slice(0, 2).map((d) => JSON.parse(d) as unknown)) },
);
const junkName = fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.constantFrom('a[b][c]', 'a[]', '[]', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '')).filter((n) => !KNOWN.has(n));

/** UTF-8 percent-encoding (lone surrogates become U+FFFD, as a browser would send them). */
const pct = (s: string) => encodeURIComponent((s as string & { toWellFormed(): string }).toWellFormed());
const formPct = (s: string) => pct(s).replace(/%20/g, '+');

// ---- credentials ---------------------------------------------------------------------------------
const basicHeader = (id: string, secret: string) => `Basic ${Buffer.from(`${formPct(id)}:${formPct(secret)}`, 'utf8').toString('base64')}`;
const other = (valid: string) => junkString.filter((s) => s !== valid);

function credentials(f: Fixture): fc.Arbitrary<Part> {
  const auth = (v: string): [string, string][] => [['Authorization', v]];
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant<Part>({ headers: auth(basicHeader('fz-basic', f.secrets.basic)), valid: true, why: 'basic ok' }) },
    { weight: 3, arbitrary: other(f.secrets.basic).map<Part>((s) => ({ headers: auth(basicHeader('fz-basic', s)), valid: false, why: 'basic wrong secret' })) },
    { weight: 1, arbitrary: fc.constant<Part>({ headers: auth(basicHeader('fz-basic', f.secrets.basic.slice(0, -1))), valid: false, why: 'basic secret one char short' }) },
    { weight: 2, arbitrary: fc.tuple(junkString, junkString).filter(([id]) => !id.startsWith('fz-')).map<Part>(([id, s]) => ({ headers: auth(basicHeader(id, s)), valid: false, why: 'basic unknown client' })) },
    { weight: 1, arbitrary: junkString.map<Part>((s) => ({ headers: auth(basicHeader('fz-disabled', s)), valid: false, why: 'disabled client' })) },
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          junkString.map((s) => `Basic ${s}`),
          junkString.map((s) => `Basic ${Buffer.from(s, 'latin1').toString('base64')}`),
          junkString.map((s) => `Basic ${Buffer.from(`${s}`, 'utf8').toString('base64').replace(/=+$/, '')}`),
          fc.constantFrom('Basic', 'Basic ', 'basic Zm9vOmJhcg==', 'BASIC Zm9vOmJhcg==', 'Basic Zm9v', 'Basic Og==', 'Basic ====', 'Basic Zm9vOmJhcg', 'Basic  Zm9vOmJhcg==', 'Bearer abc', 'Digest x', 'Basic Zm9vOmJhcg== extra', `Basic ${b64u('fz-basic:x')}`),
          junkString,
        )
        .map<Part>((v) => ({ headers: auth(v.replace(/[\r\n]/g, '')), valid: false, why: 'malformed Authorization' })),
    },
    { weight: 1, arbitrary: fc.constant<Part>({ params: [['client_id', 'fz-post'], ['client_secret', f.secrets.post]], valid: true, why: 'post ok' }) },
    { weight: 2, arbitrary: other(f.secrets.post).map<Part>((s) => ({ params: [['client_id', 'fz-post'], ['client_secret', s]], valid: false, why: 'post wrong secret' })) },
    { weight: 1, arbitrary: fc.constant<Part>({ headers: auth(basicHeader('fz-basic', f.secrets.basic)), params: [['client_id', 'fz-post'], ['client_secret', f.secrets.post]], valid: false, why: 'two methods at once' }) },
    { weight: 1, arbitrary: junkString.map<Part>((s) => ({ params: [['client_id', s]], valid: false, why: 'client_id only' })) },
    { weight: 5, arbitrary: assertion(f) },
    { weight: 1, arbitrary: fc.constant<Part>({ valid: false, why: 'no credentials' }) },
  );
}

// ---- client assertions (JWT headers and claims of every type) ----------------------------------
type Claim = { value: unknown; valid: boolean } | undefined;
const claim = (valid: () => unknown, isValid: (v: unknown) => boolean): fc.Arbitrary<Claim> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(null).map(() => ({ value: valid(), valid: true })) },
    { weight: 2, arbitrary: anyJson.map((v) => ({ value: v, valid: isValid(v) })) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );

function assertion(f: Fixture): fc.Arbitrary<Part> {
  const now = () => Math.floor(Date.now() / 1000);
  const client = fc.constantFrom('fz-pk', 'fz-jwt');
  return client.chain((id) => {
    const okAlg = id === 'fz-pk' ? 'ES256' : 'HS256';
    const audOk = (v: unknown): boolean => v === f.issuer || v === f.tokenEndpoint || (Array.isArray(v) && v.some(audOk));
    const header = fc.oneof(
      { weight: 3, arbitrary: fc.constant({ value: id === 'fz-pk' ? { alg: 'ES256', kid: f.key.kid } : { alg: 'HS256' }, valid: true as boolean | undefined }) },
      { weight: 1, arbitrary: fc.constant({ value: { alg: okAlg, typ: 'JWT' }, valid: undefined }) },
      {
        weight: 2,
        arbitrary: fc
          .record({ alg: fc.oneof(anyJson, fc.constantFrom('none', 'None', 'NONE', 'HS256', 'RS256', 'ES256K', 'EdDSA', 'PS256', 'ES512', 'dir', '')), kid: fc.option(anyJson), typ: fc.option(anyJson), crit: fc.option(anyJson), jku: fc.option(fc.constantFrom('http://127.0.0.1:1/jwks', 'file:///etc/passwd')), x5u: fc.option(anyJson) }, { requiredKeys: ['alg'] })
          .filter((h) => h.alg !== okAlg)
          .map((h) => ({ value: h as Record<string, unknown>, valid: false as boolean | undefined })),
      },
      { weight: 1, arbitrary: fc.constant({ value: { alg: okAlg, crit: ['exp'], exp: 1 }, valid: false as boolean | undefined }) },
    );
    const claims = fc.record({
      iss: claim(() => id, (v) => v === id),
      sub: claim(() => id, (v) => v === id),
      aud: claim(() => f.issuer, audOk),
      exp: claim(() => now() + 60, (v) => typeof v === 'number' && v > now() - 40),
      iat: claim(() => now(), () => true),
      nbf: claim(() => now() - 5, () => true),
      jti: claim(() => randomUUID(), () => true),
      extra: fc.dictionary(junkName, anyJson, { maxKeys: 4 }),
    });
    const signature = fc.constantFrom('good', 'good', 'good', 'flipped', 'empty', 'junk', 'none-alg');
    const payloadShape = fc.constantFrom('object', 'object', 'object', 'object', 'array', 'string', 'not-json', 'huge');
    return fc.tuple(header, claims, signature, payloadShape, fc.boolean()).map<Part>(([h, c, sig, shape, withType]) => {
      const body: Record<string, unknown> = { ...c.extra };
      let claimsValid: boolean | undefined = true;
      for (const name of ['iss', 'sub', 'aud', 'exp'] as const) {
        const cl = c[name];
        if (!cl || !cl.valid) claimsValid = false;
      }
      for (const name of ['iat', 'nbf', 'jti'] as const) {
        const cl = c[name];
        if (claimsValid && cl && c[name]!.value !== undefined && !(name === 'jti' ? typeof cl.value === 'string' : typeof cl.value === 'number')) claimsValid = undefined;
        if (claimsValid && name === 'iat' && cl && typeof cl.value === 'number' && cl.value > now()) claimsValid = undefined;
        if (claimsValid && name === 'nbf' && cl && typeof cl.value === 'number' && cl.value > now() - 5) claimsValid = undefined;
      }
      if (claimsValid && !c.jti) claimsValid = undefined;
      for (const [name, cl] of Object.entries(c)) if (name !== 'extra' && cl) body[name] = (cl as { value: unknown }).value;
      if (Object.keys(c.extra).length && claimsValid) claimsValid = undefined;
      let payloadText: string;
      if (shape === 'object') payloadText = JSON.stringify(body);
      else if (shape === 'array') payloadText = JSON.stringify([body]);
      else if (shape === 'string') payloadText = JSON.stringify(JSON.stringify(body));
      else if (shape === 'huge') payloadText = JSON.stringify({ ...body, pad: 'x'.repeat(20_000) });
      else payloadText = '{"iss":' + JSON.stringify(id);
      const input = `${b64u(JSON.stringify(h.value))}.${b64u(payloadText)}`;
      const good = okAlg === 'ES256'
        ? sign('sha256', Buffer.from(input), { key: f.key.privateKey, dsaEncoding: 'ieee-p1363' })
        : createHmac('sha256', f.secrets.jwt).update(input).digest();
      let sigText = b64u(good);
      if (sig === 'flipped') sigText = b64u(Buffer.from(good.map((b, i) => (i === 3 ? b ^ 0x40 : b))));
      else if (sig === 'empty' || sig === 'none-alg') sigText = '';
      else if (sig === 'junk') sigText = b64u(Buffer.from(randomUUID()));
      const jwt = sig === 'none-alg' ? `${b64u(JSON.stringify({ alg: 'none' }))}.${b64u(payloadText)}.` : `${input}.${sigText}`;
      const shapeOk = shape === 'object' ? true : shape === 'huge' ? undefined : false;
      const sigOk = sig === 'good';
      const all = [h.valid, claimsValid, shapeOk, sigOk];
      const valid = all.includes(false) ? false : all.includes(undefined) ? undefined : true;
      const params: [string, string][] = [['client_assertion', jwt]];
      if (withType) params.push(['client_assertion_type', JWT_BEARER]);
      return { params, valid: withType ? valid : false, why: `${id} assertion sig=${sig} shape=${shape} header=${h.valid} claims=${claimsValid}` };
    });
  });
}

// ---- the rest of a token request ------------------------------------------------------------------
const grant: fc.Arbitrary<Part> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Part>({ params: [['grant_type', 'client_credentials']], valid: true, why: '' }) },
  { weight: 2, arbitrary: other('client_credentials').map<Part>((g) => ({ params: [['grant_type', g]], valid: false, why: 'bad grant_type' })) },
  { weight: 1, arbitrary: fc.constantFrom('password', 'authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'Client_Credentials').map<Part>((g) => ({ params: [['grant_type', g]], valid: false, why: 'other grant' })) },
  { weight: 1, arbitrary: fc.constant<Part>({ params: [['grant_type', 'client_credentials'], ['grant_type', 'client_credentials']], valid: false, why: 'grant_type twice' }) },
  { weight: 1, arbitrary: fc.constant<Part>({ valid: false, why: 'no grant_type' }) },
);
const scope: fc.Arbitrary<Part> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Part>({ valid: true, why: '' }) },
  { weight: 2, arbitrary: fc.constant<Part>({ params: [['scope', 'read']], valid: true, why: '' }) },
  { weight: 2, arbitrary: junkString.filter((s) => s.trim() !== '' && s.split(' ').some((x) => x !== '' && x !== 'read' && x !== 'write')).map<Part>((s) => ({ params: [['scope', s]], valid: false, why: 'bad scope' })) },
  { weight: 1, arbitrary: fc.constant<Part>({ params: [['scope', 'read'], ['scope', 'read']], valid: false, why: 'scope twice' }) },
  { weight: 1, arbitrary: junkString.map<Part>((s) => ({ params: [['resource', s]], valid: undefined, why: 'resource' })) },
);
const extras = fc.array(fc.tuple(junkName, junkString), { maxLength: 4 });

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ value: 'application/x-www-form-urlencoded' as string | undefined, valid: true as boolean | undefined }) },
  { weight: 1, arbitrary: fc.constantFrom('application/x-www-form-urlencoded; charset=UTF-8', 'application/x-www-form-urlencoded;charset=utf-8', 'Application/X-WWW-Form-Urlencoded', 'application/x-www-form-urlencoded; charset=latin1', 'application/x-www-form-urlencoded; a="\\"').map((value) => ({ value: value as string | undefined, valid: undefined as boolean | undefined })) },
  { weight: 2, arbitrary: fc.constantFrom(undefined, '', 'application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencodedx', '*/*', 'application/', ';;;', 'application/x-www-form-urlencoded, application/json').map((value) => ({ value, valid: false as boolean | undefined })) },
);

const extraHeaders = fc.array(
  fc.tuple(
    fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,24}$/).filter((n) => !/^(content-length|host|connection|transfer-encoding|expect|upgrade)$/i.test(n)),
    fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 60 }), fc.constantFrom('x'.repeat(9_000), 'é€💥', '\u0000')).map((v) => v.replace(/[\r\n]/g, ' ')),
  ),
  { maxLength: 4 },
);

const path = (endpoint: string) =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constant(`/oauth2/${endpoint}`) },
    { weight: 1, arbitrary: junkString.map((q) => `/oauth2/${endpoint}?${formPct(q)}=${formPct(q)}`) },
    { weight: 1, arbitrary: fc.constantFrom(`/realms/nope/oauth2/${endpoint}`, `/realms/default/oauth2/${endpoint}`, `/oauth2//${endpoint}`, `/oauth2/${endpoint}/`, `/%6Fauth2/${endpoint}`, `/oauth2/${endpoint}/..`, `/oauth2/${endpoint}?grant_type=client_credentials`, `/oauth2/${endpoint}#x`, `/realms/${'a'.repeat(300)}/oauth2/${endpoint}`, `/realms/%00/oauth2/${endpoint}`) },
  );
const method = fc.oneof({ weight: 15, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'post', 'PROPFIND') });
/** How the parameters become a body: properly encoded, raw, or raw bytes replaced. */
type Encoding = { how: string; bytes?: Uint8Array; suffix?: string };
const encoding: fc.Arbitrary<Encoding> = fc.oneof(
  { weight: 10, arbitrary: fc.constant({ how: 'proper' }) },
  { weight: 1, arbitrary: fc.constant({ how: 'raw' }) },
  { weight: 1, arbitrary: fc.constant({ how: 'semicolons' }) },
  { weight: 1, arbitrary: junkString.map((suffix) => ({ how: 'junk-suffix', suffix })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 3_000 }).map((bytes) => ({ how: 'bytes', bytes })) },
);

function buildBody(params: [string, string][], { how, bytes, suffix }: Encoding): { body: string | Uint8Array; exact: boolean } {
  if (how === 'bytes') return { body: bytes!, exact: false };
  if (how === 'raw') return { body: params.map(([k, v]) => `${k}=${v}`).join('&'), exact: params.every(([k, v]) => /^[\w.~-]*$/.test(k + v)) };
  if (how === 'semicolons') return { body: params.map(([k, v]) => `${formPct(k)}=${formPct(v)}`).join(';'), exact: params.length <= 1 };
  const proper = params.map(([k, v]) => `${formPct(k)}=${formPct(v)}`).join('&');
  return how === 'junk-suffix' ? { body: `${proper}&${suffix}`, exact: false } : { body: proper, exact: true };
}

function combine(a: boolean | undefined, b: boolean | undefined): boolean | undefined {
  if (a === false || b === false) return false;
  return a === undefined || b === undefined ? undefined : true;
}

// ---- tokens to introspect and revoke ---------------------------------------------------------------
function forgedToken(f: Fixture): fc.Arbitrary<string> {
  const [h, p, s] = f.realToken.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  return fc
    .oneof(
      junkString,
      fc.nat().chain((i) => fc.string({ minLength: 1, maxLength: 1 }).map((c) => { const at = i % f.realToken.length; return f.realToken.slice(0, at) + c + f.realToken.slice(at + 1); })),
      fc.nat().map((i) => f.realToken.slice(0, i % f.realToken.length)),
      fc.record({ k: fc.constantFrom('exp', 'iss', 'aud', 'sub', 'client_id', 'scope', 'jti', 'iat'), v: anyJson }).map(({ k, v }) => `${h}.${b64u(JSON.stringify({ ...claims, [k]: v }))}.${s}`),
      anyJson.map((hdr) => `${b64u(JSON.stringify(hdr))}.${p}.${s}`),
      fc.constantFrom(`${b64u('{"alg":"none"}')}.${p}.`, `${h}.${p}`, `${h}.${p}.${s}.x`, `${h}..${s}`, `${f.realToken} `, ` ${f.realToken}`, f.realToken.toUpperCase(), `${h}.${p}.${s.slice(0, -2)}AA`),
    )
    .filter((t) => t !== f.realToken);
}

function tokenEndpointRequest(f: Fixture): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({ cred: credentials(f), grant, scope, extras, ct: contentType, how: encoding, headers: extraHeaders, path: path('token'), method, shuffle: fc.boolean() })
    .map(({ cred, grant: g, scope: sc, extras: ex, ct, how, headers, path: p, method: m, shuffle }) => {
      let params = [...(g.params ?? []), ...(sc.params ?? []), ...(cred.params ?? []), ...ex];
      if (shuffle) params = params.reverse();
      const { body, exact } = buildBody(params, how);
      let valid = [cred.valid, g.valid, sc.valid, ct.valid].reduce(combine, true as boolean | undefined);
      if (!exact && valid === true) valid = undefined;
      if ((m !== 'POST' || p !== '/oauth2/token') && valid === true) valid = undefined;
      const hdrs: [string, string][] = [...(cred.headers ?? []), ...(ct.value === undefined ? [] : [['Content-Type', ct.value] as [string, string]]), ...headers];
      return { endpoint: 'token' as const, method: m, path: p, headers: hdrs, body, mayIssue: valid, why: [cred.why, g.why, sc.why, `ct=${ct.value}`, how.how].filter(Boolean).join(', ') };
    });
}

function tokenManagementRequest(f: Fixture, endpoint: 'introspect' | 'revoke'): fc.Arbitrary<FuzzRequest> {
  const auth = fc.oneof(
    { weight: 3, arbitrary: fc.constant<Part>({ headers: [['Authorization', basicHeader('fz-basic', f.secrets.basic)]], valid: true, why: 'basic ok' }) },
    { weight: 2, arbitrary: credentials(f) },
  );
  return fc
    .record({ auth, token: forgedToken(f), hint: fc.option(fc.oneof(junkString, fc.constantFrom('access_token', 'refresh_token', 'ACCESS_TOKEN'))), extras, ct: contentType, how: encoding, headers: extraHeaders, path: path(endpoint), method, twice: fc.boolean() })
    .map(({ auth: a, token, hint, extras: ex, ct, how, headers, path: p, method: m, twice }) => {
      const params: [string, string][] = [['token', token], ...(twice ? [['token', token] as [string, string]] : []), ...(hint === null ? [] : [['token_type_hint', hint] as [string, string]]), ...(a.params ?? []), ...ex];
      const { body } = buildBody(params, how);
      const hdrs: [string, string][] = [...(a.headers ?? []), ...(ct.value === undefined ? [] : [['Content-Type', ct.value] as [string, string]]), ...headers];
      return { endpoint, method: m, path: p, headers: hdrs, body, mayIssue: false, forgedToken: true, why: `${a.why}, forged token, ${how.how}` };
    });
}

/** A request to one of the three endpoints (token requests weigh most: they have the most parts). */
export function requestArbitrary(f: Fixture): fc.Arbitrary<FuzzRequest> {
  return fc.oneof({ weight: 6, arbitrary: tokenEndpointRequest(f) }, { weight: 2, arbitrary: tokenManagementRequest(f, 'introspect') }, { weight: 2, arbitrary: tokenManagementRequest(f, 'revoke') });
}
