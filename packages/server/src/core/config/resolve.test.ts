import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseIssuer, resolveConfig } from './resolve.ts';

describe('resolveConfig', () => {
  it('applies defaults and derives realm endpoints', () => {
    const c = resolveConfig({ issuer: 'https://as.example.com/', realms: [{ name: 'acme', tokens: { ttl: 600 } }] });
    assert.equal(c.issuer, 'https://as.example.com');
    const d = c.realms.get('default')!;
    assert.equal(d.tokenEndpoint, 'https://as.example.com/oauth2/token');
    assert.equal(d.tokens.ttlSeconds, 3600);
    assert.equal(d.tokens.signingAlg, 'ES256');
    assert.equal(d.assertions.audience, 'either');
    assert.equal(d.assertions.maxLifetimeSeconds, undefined);
    assert.equal(d.assertions.maxAgeSeconds, 300);
    assert.equal(d.assertions.requireJti, true);
    assert.equal(d.profile, 'standard');
    const acme = c.realms.get('acme')!;
    assert.equal(acme.issuer, 'https://as.example.com/realms/acme');
    assert.equal(acme.jwksUri, 'https://as.example.com/realms/acme/jwks');
    assert.equal(acme.tokens.ttlSeconds, 600);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(acme.tokens));
  });
  it('without an issuer, uses http://localhost on the configured port', () => {
    assert.equal(resolveConfig({}).issuer, 'http://localhost:8080');
    assert.equal(resolveConfig({ listen: { port: 4999 } }).issuer, 'http://localhost:4999');
    assert.equal(resolveConfig({ listen: { port: 4999 } }).realms.get('default')!.tokenEndpoint, 'http://localhost:4999/oauth2/token');
    assert.equal(resolveConfig({ issuer: 'https://as.example.com', listen: { port: 4999 } }).issuer, 'https://as.example.com');
  });

  it('refuses unknown keys, naming the path', () => {
    assert.throws(() => resolveConfig({ tokens: { ttl: 60, tll: 5 } }), /tokens: Unrecognized key.*tll/);
    assert.throws(() => resolveConfig({ clients: [{ client_id: 'a', scopes: 'x' }] }), /clients\.0: Unrecognized key.*scopes/);
  });
  it('refuses wrong types and values, naming the path', () => {
    assert.throws(() => resolveConfig({ listen: { port: 'eighty' } }), /listen\.port/);
    assert.throws(() => resolveConfig({ assertions: { audience: 'anything' } }), /assertions\.audience/);
    assert.throws(() => resolveConfig({ realms: [{ name: 'Bad Name' }] }), /realms\.0\.name/);
    assert.throws(() => resolveConfig({ tokens: { ttl: 100, max_ttl: 50 } }), /tokens\.ttl: must not exceed max_ttl/);
    assert.throws(() => resolveConfig({ clients: [{ client_id: 'a' }, { client_id: 'a' }] }), /clients\.1\.client_id: duplicate/);
    assert.throws(() => resolveConfig({ realms: [{ name: 'x' }, { name: 'x' }] }), /duplicate realm/);
  });
  it('checks the issuer (RFC 8414 §2)', () => {
    assert.throws(() => normaliseIssuer('http://as.example.com'), /must be https/);
    assert.throws(() => normaliseIssuer('https://as.example.com/?a=b'), /no query or fragment/);
    assert.throws(() => normaliseIssuer('https://as.example.com/#x'), /no query or fragment/);
    assert.throws(() => normaliseIssuer('not a url'), /not a URL/);
    assert.equal(normaliseIssuer('http://localhost:8080/'), 'http://localhost:8080');
    assert.equal(normaliseIssuer('http://127.0.0.1:9/t/alpha'), 'http://127.0.0.1:9/t/alpha');
  });
  it('console: timeouts and single sign-on (console.sso) are validated', () => {
    const plain = resolveConfig({});
    assert.equal(plain.console.sso, undefined);
    assert.equal(plain.console.idleTimeoutSeconds, 1800);
    const sso = { issuer: 'https://login.example.com/', client_id: 'tessera', client_secret: 's3cret', redirect_uri: 'https://as.example.com/console/sso/callback', allowed_groups: ['ops'] };
    const c = resolveConfig({ issuer: 'https://as.example.com', console: { idle_timeout: 600, sso } });
    assert.equal(c.console.idleTimeoutSeconds, 600);
    assert.deepEqual({ ...c.console.sso }, { issuer: 'https://login.example.com', clientId: 'tessera', clientSecret: 's3cret', redirectUri: 'https://as.example.com/console/sso/callback', scope: 'openid email profile', allowedSubjects: [], allowedGroups: ['ops'], groupsClaim: 'groups', adminScope: 'tessera:admin' });
    assert.throws(() => resolveConfig({ console: { sso: { ...sso, allowed_groups: [] } } }), /console\.sso: name allowed_subjects and\/or allowed_groups/);
    assert.throws(() => resolveConfig({ console: { sso: { ...sso, issuer: 'http://login.example.com' } } }), /console\.sso\.issuer: must be https/);
    assert.throws(() => resolveConfig({ console: { sso: { ...sso, redirect_uri: 'https://as.example.com/elsewhere' } } }), /console\.sso\.redirect_uri: must end with \/console\/sso\/callback/);
    assert.throws(() => resolveConfig({ console: { sso: { ...sso, scope: 'email' } } }), /console\.sso\.scope: must include openid/);
    assert.throws(() => resolveConfig({ console: { sso: { ...sso, allowed_users: ['x'] } } }), /console\.sso: Unrecognized key.*allowed_users/);
    assert.throws(() => resolveConfig({ console: { sso: { ...sso, redirect_uri: 'not a url' } } }), /console\.sso\.redirect_uri/);
  });
});
