import { describe, expect, it } from 'vitest';
import { isOnecliError } from '../../../src/errors.js';
import { matchHost, normalizeHost, parseHostPattern } from '../../../src/policy/host-pattern.js';
import { matchPaths, parsePathPattern } from '../../../src/policy/path-pattern.js';
import { buildSecretRules, parseHeaderSpec } from '../../../src/policy/secret-spec.js';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return isOnecliError(err) ? err.code : 'not an OnecliError';
  }
};

describe('host patterns', () => {
  it.each(['*', '*.*', '*.com', '*.co.uk', '*.github.io', '*.test', 'com', 'co.uk', '', 'https://api.stripe.com', 'api.stripe.com/v1', 'api.*.com', '*api.example.com', 'a..b.com', '-a.example.com'])(
    'refuses %j',
    (pattern) => expect(code(() => parseHostPattern(pattern))).toBe('E_BAD_PATTERN'),
  );

  it.each([
    ['api.stripe.com', 'api.stripe.com', true],
    ['API.Stripe.COM.', 'api.stripe.com', true],
    ['api.stripe.com', 'evil-api.stripe.com', false],
    ['api.stripe.com', 'api.stripe.com.evil.com', false],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'badexample.com', false],
    ['localhost', 'localhost', true],
    ['127.0.0.1', '127.0.0.1', true],
  ])('%s matches %s: %s', (pattern, host, expected) => {
    expect(matchHost(parseHostPattern(pattern), normalizeHost(host))).toBe(expected);
  });
});

describe('path patterns', () => {
  it.each([
    ['/v1/*', '/v1/charges', true],
    ['/v1/*', '/v1/charges/ch_1', true],
    ['/v1/*', '/v1', true],
    ['/v1/*', '/v10/charges', false],
    ['/v1/*/refunds', '/v1/ch_1/refunds', true],
    ['/v1/*/refunds', '/v1/a/b/refunds', false],
    ['/api/**/issues', '/api/v4/projects/1/issues', true],
    ['/exact', '/exact', true],
    ['/exact', '/exact/more', false],
    ['/a.b', '/aXb', false],
  ])('%s matches %s: %s', (pattern, path, expected) => {
    expect(matchPaths([parsePathPattern(pattern)], path)).toBe(expected);
  });

  it('an empty list allows every path', () => expect(matchPaths([], '/anything')).toBe(true));
  it.each(['v1/*', '/v1?x=1', '/a b', '/#frag'])('refuses %j', (p) => expect(code(() => parsePathPattern(p))).toBe('E_BAD_PATTERN'));
});

describe('secret rules', () => {
  it('fills host, header and env var from a preset, and lets flags override them', () => {
    expect(buildSecretRules({ name: 'anthropic' })).toMatchObject({
      hosts: ['api.anthropic.com'],
      injection: { type: 'header', header: 'x-api-key', template: '{value}' },
      env: 'ANTHROPIC_API_KEY',
      preset: 'anthropic',
    });
    expect(buildSecretRules({ name: 'anthropic', hosts: ['proxy.internal.example.com'], env: 'CLAUDE_KEY' })).toMatchObject({
      hosts: ['proxy.internal.example.com'],
      env: 'CLAUDE_KEY',
    });
  });

  it.each(['Authorization: Bearer', 'X: {value} {value}', 'Host: {value}', 'Proxy-Authorization: {value}', 'Bad Header: {value}', 'X: {nope}', 'X: a\r\nY: {value}'])(
    'refuses the header %j',
    (spec) => expect(code(() => parseHeaderSpec(spec))).toBe('E_BAD_PATTERN'),
  );

  it('accepts Basic templates', () => {
    expect(parseHeaderSpec('Authorization: Basic {basic:api}')).toEqual({ type: 'header', header: 'Authorization', template: 'Basic {basic:api}' });
  });

  it('refuses a name outside [a-z0-9_-]{1,64}', () => {
    for (const name of ['Stripe', 'a b', '', 'x'.repeat(65), '../x']) expect(code(() => buildSecretRules({ name, hosts: ['api.example.com'] }))).toBe('E_BAD_NAME');
  });
});
