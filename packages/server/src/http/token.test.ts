/**
 * The token endpoint over HTTP (inject): every success and error path of RFC 6749 §3.2, §4.4 and
 * §5.2 for the secret-based methods, the request-shape rules, and the response headers.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../../../test/fixtures/server.ts';
import { basic, form } from '../../../../test/fixtures/assertions.ts';

const SPECIAL = 'se:cret%with+special chars&=';
let t: TestServer;

async function token(body: string | Record<string, string | string[]>, headers: Record<string, string> = {}, url = '/oauth2/token') {
  const payload = typeof body === 'string' ? body : form(body);
  const res = await t.app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  return { status: res.statusCode, headers: res.headers, body: res.body ? JSON.parse(res.body) : undefined, sentAuthorization: 'authorization' in headers };
}

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());
}
function headerOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString());
}

before(async () => {
  t = await startTestServer({
    inject: true,
    config: {
      tokens: { default_audience: 'https://default.example.com' },
      clients: [
        { client_id: 'basic-client', client_secret: SPECIAL, scope: 'read write admin', default_scopes: 'read', allowed_resources: ['https://api.example.com', 'https://other.example.com'], extra_claims: { tenant: 'acme' } },
        { client_id: 'post-client', client_secret: 'post-secret-value', token_endpoint_auth_method: 'client_secret_post', scope: 'read', access_token_ttl: 600 },
        { client_id: 'no-grant', client_secret: 'no-grant-secret', scope: 'read', grant_types: [] },
        { client_id: 'disabled', client_secret: 'disabled-secret', scope: 'read', disabled: true },
        { client_id: 'no-scopes', client_secret: 'no-scopes-secret' },
      ],
    },
  });
});
after(() => t.close());

describe('token endpoint: success', () => {
  it('issues an RFC 9068 token with client_secret_basic (form-urlencoded credentials)', async () => {
    const res = await token({ grant_type: 'client_credentials' }, { authorization: basic('basic-client', SPECIAL) });
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['pragma'], 'no-cache');
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(res.body.token_type, 'Bearer');
    assert.equal(res.body.expires_in, 3600);
    assert.equal(res.body.scope, 'read');
    const h = headerOf(res.body.access_token);
    assert.equal(h.typ, 'at+jwt');
    assert.equal(h.alg, 'ES256');
    assert.equal(typeof h.kid, 'string');
    const c = claimsOf(res.body.access_token);
    assert.equal(c.iss, t.issuer);
    assert.equal(c.sub, 'basic-client');
    assert.equal(c.client_id, 'basic-client');
    assert.equal(c.aud, 'https://default.example.com');
    assert.equal(c.scope, 'read');
    assert.equal(c.tenant, 'acme');
    assert.equal((c.exp as number) - (c.iat as number), 3600);
    assert.match(String(c.jti), /^[A-Za-z0-9_-]{22}$/);
    assert.equal(res.body.refresh_token, undefined);
  });

  it('issues with client_secret_post and the client lifetime', async () => {
    const res = await token({ grant_type: 'client_credentials', client_id: 'post-client', client_secret: 'post-secret-value' });
    assert.equal(res.status, 200);
    assert.equal(res.body.expires_in, 600);
    assert.equal(res.body.scope, 'read');
  });

  it('grants requested scopes within the allowed set and says which', async () => {
    const res = await token({ grant_type: 'client_credentials', scope: 'write admin' }, { authorization: basic('basic-client', SPECIAL) });
    assert.equal(res.status, 200);
    assert.equal(res.body.scope, 'write admin');
    assert.equal(claimsOf(res.body.access_token).scope, 'write admin');
  });

  it('treats an empty parameter as omitted (scope= means the default scopes)', async () => {
    const res = await token('grant_type=client_credentials&scope=', { authorization: basic('basic-client', SPECIAL) });
    assert.equal(res.status, 200);
    assert.equal(res.body.scope, 'read');
  });

  it('ignores unknown parameters', async () => {
    const res = await token({ grant_type: 'client_credentials', foo: 'bar', foo2: ['a', 'b'] }, { authorization: basic('basic-client', SPECIAL) });
    assert.equal(res.status, 200);
  });

  it('accepts client_secret= with Basic (empty means omitted, not a second method)', async () => {
    const res = await token('grant_type=client_credentials&client_secret=', { authorization: basic('basic-client', SPECIAL) });
    assert.equal(res.status, 200);
  });

  it('accepts a matching client_id parameter with Basic', async () => {
    const res = await token({ grant_type: 'client_credentials', client_id: 'basic-client' }, { authorization: basic('basic-client', SPECIAL) });
    assert.equal(res.status, 200);
  });

  it('uses the requested resource (RFC 8707) as audience, one or several', async () => {
    const one = await token({ grant_type: 'client_credentials', resource: 'https://api.example.com' }, { authorization: basic('basic-client', SPECIAL) });
    assert.equal(one.status, 200);
    assert.equal(claimsOf(one.body.access_token).aud, 'https://api.example.com');
    const two = await token({ grant_type: 'client_credentials', resource: ['https://api.example.com', 'https://other.example.com'] }, { authorization: basic('basic-client', SPECIAL) });
    assert.equal(two.status, 200);
    assert.deepEqual(claimsOf(two.body.access_token).aud, ['https://api.example.com', 'https://other.example.com']);
  });

  it('accepts a charset parameter on the content type', async () => {
    const res = await token(form({ grant_type: 'client_credentials' }), { authorization: basic('basic-client', SPECIAL), 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' });
    assert.equal(res.status, 200);
  });
});

describe('token endpoint: errors (RFC 6749 §5.2)', () => {
  const cases: Array<[string, () => Promise<{ status: number; headers: Record<string, unknown>; body: any; sentAuthorization: boolean }>, number, string, RegExp?]> = [
    ['wrong secret', () => token({ grant_type: 'client_credentials' }, { authorization: basic('basic-client', 'nope') }), 401, 'invalid_client', /^client authentication failed$/],
    ['unknown client', () => token({ grant_type: 'client_credentials' }, { authorization: basic('ghost', 'nope') }), 401, 'invalid_client', /^client authentication failed$/],
    ['disabled client', () => token({ grant_type: 'client_credentials' }, { authorization: basic('disabled', 'disabled-secret') }), 401, 'invalid_client', /^client authentication failed$/],
    ['method not the registered one (post for a basic client)', () => token({ grant_type: 'client_credentials', client_id: 'basic-client', client_secret: SPECIAL }), 401, 'invalid_client', /^client authentication failed$/],
    ['no client authentication', () => token({ grant_type: 'client_credentials' }), 401, 'invalid_client', /^client authentication failed$/],
    ['client_id alone (public client)', () => token({ grant_type: 'client_credentials', client_id: 'basic-client' }), 401, 'invalid_client'],
    ['a Bearer Authorization header', () => token({ grant_type: 'client_credentials' }, { authorization: 'Bearer abc' }), 401, 'invalid_client', /^client authentication failed$/],
    ['malformed Basic value', () => token({ grant_type: 'client_credentials' }, { authorization: 'Basic !!!' }), 401, 'invalid_client', /^client authentication failed$/],
    ['Basic without colon', () => token({ grant_type: 'client_credentials' }, { authorization: 'Basic ' + Buffer.from('abc').toString('base64') }), 401, 'invalid_client'],
    ['Basic with bad percent-encoding', () => token({ grant_type: 'client_credentials' }, { authorization: 'Basic ' + Buffer.from('a%zz:b').toString('base64') }), 401, 'invalid_client'],
    ['client_id parameter disagreeing with Basic', () => token({ grant_type: 'client_credentials', client_id: 'post-client' }, { authorization: basic('basic-client', SPECIAL) }), 401, 'invalid_client', /^client authentication failed$/],
    ['Basic and client_secret at once', () => token({ grant_type: 'client_credentials', client_id: 'basic-client', client_secret: SPECIAL }, { authorization: basic('basic-client', SPECIAL) }), 400, 'invalid_request', /more than one client authentication method/],
    ['missing grant_type', () => token({ scope: 'read' }, { authorization: basic('basic-client', SPECIAL) }), 400, 'invalid_request', /grant_type is required/],
    ['password grant', () => token({ grant_type: 'password', username: 'a', password: 'b' }, { authorization: basic('basic-client', SPECIAL) }), 400, 'unsupported_grant_type'],
    ['refresh_token grant', () => token({ grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basic('basic-client', SPECIAL) }), 400, 'unsupported_grant_type'],
    ['client without the grant', () => token({ grant_type: 'client_credentials' }, { authorization: basic('no-grant', 'no-grant-secret') }), 400, 'unauthorized_client'],
    ['scope outside the allowed set', () => token({ grant_type: 'client_credentials', scope: 'read delete' }, { authorization: basic('basic-client', SPECIAL) }), 400, 'invalid_scope', /scope delete is not allowed/],
    ['scope with a forbidden character', () => token({ grant_type: 'client_credentials', scope: 'read "x"' }, { authorization: basic('basic-client', SPECIAL) }), 400, 'invalid_scope', /not a valid/],
    ['scope with a double space', () => token({ grant_type: 'client_credentials', scope: 'read  write' }, { authorization: basic('basic-client', SPECIAL) }), 400, 'invalid_scope'],
    ['no scope and no default scope', () => token({ grant_type: 'client_credentials' }, { authorization: basic('no-scopes', 'no-scopes-secret') }), 400, 'invalid_scope', /no default scope/],
    ['resource not allowed', () => token({ grant_type: 'client_credentials', resource: 'https://evil.example.com' }, { authorization: basic('basic-client', SPECIAL) }), 400, 'invalid_target'],
    ['resource with quotes and backslashes (never a 500)', () => token({ grant_type: 'client_credentials', resource: 'https://x.example/"\\é' }, { authorization: basic('basic-client', SPECIAL) }), 400, 'invalid_target', /^resource https:\/\/x\.example\/\?\?\? is not allowed/],
    ['grant_type with quotes (never a 500)', () => token({ grant_type: 'a"b\\c' }, { authorization: basic('basic-client', SPECIAL) }), 400, 'unsupported_grant_type', /^grant_type a\?b\?c is not supported$/],
    ['grant_type twice', () => token('grant_type=client_credentials&grant_type=client_credentials', { authorization: basic('basic-client', SPECIAL) }), 400, 'invalid_request', /grant_type must not be repeated/],
    ['scope twice', () => token('grant_type=client_credentials&scope=read&scope=write', { authorization: basic('basic-client', SPECIAL) }), 400, 'invalid_request', /scope must not be repeated/],
    ['client_id twice', () => token('grant_type=client_credentials&client_id=post-client&client_id=post-client&client_secret=post-secret-value'), 400, 'invalid_request', /client_id must not be repeated/],
    ['client_secret in the query string', () => token({ grant_type: 'client_credentials' }, {}, '/oauth2/token?client_id=post-client&client_secret=post-secret-value'), 400, 'invalid_request', /query string/],
  ];
  for (const [name, run, status, error, description] of cases) {
    it(`${name} → ${status} ${error}`, async () => {
      const res = await run();
      assert.equal(res.status, status);
      assert.equal(res.body.error, error);
      assert.equal(res.body.access_token, undefined);
      assert.equal(res.headers['cache-control'], 'no-store');
      if (description) assert.match(res.body.error_description, description);
      // A challenge answers an Authorization header (RFC 6749 §5.2); body credentials get none.
      if (status === 401 && res.sentAuthorization) assert.match(String(res.headers['www-authenticate']), /^Basic realm="tessera"/);
      if (status === 401 && !res.sentAuthorization) assert.equal(res.headers['www-authenticate'], undefined);
      assert.match(res.body.error_description ?? '', /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/);
    });
  }

  it('wrong secret and unknown client give the very same answer', async () => {
    const a = await token({ grant_type: 'client_credentials' }, { authorization: basic('basic-client', 'nope') });
    const b = await token({ grant_type: 'client_credentials' }, { authorization: basic('ghost', 'nope') });
    assert.deepEqual(a.body, b.body);
    assert.equal(a.status, b.status);
  });

  it('GET is 405 with Allow: POST', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/oauth2/token' });
    assert.equal(res.statusCode, 405);
    assert.equal(res.headers.allow, 'POST');
    assert.equal(res.json().error, 'invalid_request');
  });

  it('a JSON body is 400 invalid_request', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/oauth2/token', payload: { grant_type: 'client_credentials' }, headers: { authorization: basic('basic-client', SPECIAL) } });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), { error: 'invalid_request', error_description: 'the request body must be application/x-www-form-urlencoded' });
  });

  it('a text/plain body is 400 invalid_request', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/oauth2/token', payload: 'grant_type=client_credentials', headers: { 'content-type': 'text/plain', authorization: basic('basic-client', SPECIAL) } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error, 'invalid_request');
  });

  it('no body at all is 400 invalid_request', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/oauth2/token', headers: { authorization: basic('basic-client', SPECIAL) } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error, 'invalid_request');
  });

  it('an oversized body is 413 with a JSON OAuth error', async () => {
    const res = await token('grant_type=client_credentials&pad=' + 'x'.repeat(20_000), { authorization: basic('basic-client', SPECIAL) });
    assert.equal(res.status, 413);
    assert.equal(res.body.error, 'invalid_request');
    assert.equal(res.body.access_token, undefined);
  });

  it('an unknown realm is 404', async () => {
    const res = await token({ grant_type: 'client_credentials' }, { authorization: basic('basic-client', SPECIAL) }, '/realms/nope/oauth2/token');
    assert.equal(res.status, 404);
  });

  it('unexpected failures are 500 server_error without detail', async () => {
    const original = t.server.storage.clients.get;
    t.server.clients.clear();
    t.server.storage.clients.get = async () => {
      throw new Error('boom: secret detail');
    };
    try {
      const res = await token({ grant_type: 'client_credentials' }, { authorization: basic('basic-client', SPECIAL) });
      assert.equal(res.status, 500);
      assert.deepEqual(res.body, { error: 'server_error' });
    } finally {
      t.server.storage.clients.get = original;
    }
  });
});

describe('token endpoint: storage faults', () => {
  it('storage unavailable → 503 temporarily_unavailable with Retry-After, no token', async () => {
    const { StorageUnavailableError } = await import('../core/errors/index.ts');
    const original = t.server.storage.clients.get;
    t.server.clients.clear();
    t.server.storage.clients.get = async () => {
      throw new StorageUnavailableError('connection refused');
    };
    try {
      const res = await token({ grant_type: 'client_credentials' }, { authorization: basic('basic-client', SPECIAL) });
      assert.equal(res.status, 503);
      assert.equal(res.headers['retry-after'], '1');
      assert.deepEqual(res.body, { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable' });
    } finally {
      t.server.storage.clients.get = original;
    }
  });
});
