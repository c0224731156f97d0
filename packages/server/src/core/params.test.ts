import { it } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseParams, parseForm } from './params.ts';
import { parseScope } from '../shared/oauth.ts';

it('keeps one value per known name, drops empty ones, refuses repeats', () => {
  const raw = parseForm('grant_type=client_credentials&scope=&resource=a&resource=b&x=1&x=2');
  const { single, lists } = normaliseParams(raw, ['grant_type', 'scope', 'resource'], ['resource']);
  assert.deepEqual([...single], [['grant_type', 'client_credentials']]);
  assert.deepEqual(lists.get('resource'), ['a', 'b']);
  assert.throws(() => normaliseParams(parseForm('scope=a&scope=b'), ['scope']), /scope must not be repeated/);
  assert.throws(() => normaliseParams(parseForm('scope=&scope='), ['scope']), /must not be repeated/);
});

it('parses scope lists per RFC 6749 §3.3', () => {
  assert.deepEqual(parseScope('read write read'), ['read', 'write']);
  assert.deepEqual(parseScope(''), []);
  assert.equal(parseScope('read  write'), undefined);
  assert.equal(parseScope(' read'), undefined);
  assert.equal(parseScope('a"b'), undefined);
  assert.equal(parseScope('a\\b'), undefined);
  assert.equal(parseScope('é'), undefined);
});
