import { describe, expect, it } from 'vitest';
import { buildOutgoingHead, InjectionError, renderTemplate, responseHeaders, setQueryParam } from '../../../src/proxy/inject.js';
import { Rules } from '../../../src/proxy/rules.js';
import { hostAgrees, parseAbsoluteForm, parseAuthority, type Target } from '../../../src/proxy/target.js';
import { proxySecret } from './harness.js';

const https = (host: string, port = 443): Target => ({ scheme: 'https', host, port });
const http = (host: string, port = 80): Target => ({ scheme: 'http', host, port });

describe('targets', () => {
  it('parses CONNECT authorities, requiring a port, and refuses malformed ones', () => {
    expect(parseAuthority('API.Example.com:443', undefined)).toEqual({ host: 'api.example.com', port: 443 });
    expect(parseAuthority('[::1]:8443', undefined)).toEqual({ host: '::1', port: 8443 });
    for (const bad of ['example.com', 'example.com:0', 'example.com:65536', 'a b:1', '[::1', '::1:443', ':443', 'x.com:44a']) {
      expect(parseAuthority(bad, undefined)).toBeUndefined();
    }
  });

  it('keeps the absolute-form path byte for byte and refuses user info', () => {
    expect(parseAbsoluteForm('http://api.example.com/v1/../x?q=%2e')).toEqual({ target: http('api.example.com'), path: '/v1/../x?q=%2e' });
    expect(parseAbsoluteForm('https://api.example.com:8443?x=1')).toEqual({ target: https('api.example.com', 8443), path: '/?x=1' });
    expect(parseAbsoluteForm('http://user:pw@api.example.com/')).toBeUndefined();
    expect(parseAbsoluteForm('ftp://api.example.com/')).toBeUndefined();
  });

  it('compares a Host header with the target host, whatever port it names', () => {
    expect(hostAgrees(https('api.example.com'), 'API.example.com.:443')).toBe(true);
    expect(hostAgrees(https('api.example.com'), 'api.example.com:8443')).toBe(true);
    expect(hostAgrees(https('api.example.com'), 'evil.example.com')).toBe(false);
    expect(hostAgrees(https('::1'), '[::1]:443')).toBe(true);
    expect(hostAgrees(https('api.example.com'), undefined)).toBe(false);
  });
});

describe('rules', () => {
  const stripe = proxySecret({ name: 'stripe', value: 'sk_live_1', hosts: ['api.stripe.com'], paths: ['/v1/*'] });
  const internal = proxySecret({ name: 'internal', value: 'k', hosts: ['*.corp.example'], allowHttp: true });
  const rules = new Rules([stripe, internal]);

  it('decrypts only hosts some secret is bound to', () => {
    expect(rules.intercepts('api.stripe.com')).toBe(true);
    expect(rules.intercepts('git.corp.example')).toBe(true);
    expect(rules.intercepts('corp.example')).toBe(false);
    expect(rules.intercepts('example.org')).toBe(false);
  });

  it('injects a secret for its host and path globs, and not outside them', () => {
    expect(rules.check(https('api.stripe.com'), '/v1/charges?limit=3', [])).toEqual({ type: 'forward', inject: [stripe] });
    expect(rules.check(https('api.stripe.com'), '/v2/charges', [])).toEqual({ type: 'forward', inject: [] });
    expect(rules.check(https('api.stripe.com'), '/v1/../admin', [])).toEqual({ type: 'forward', inject: [] });
    expect(rules.check(https('api.stripe.com'), '/v1/%2e%2e/admin', [])).toEqual({ type: 'forward', inject: [] });
  });

  it('injects over plain http only for a secret that allows it', () => {
    expect(rules.check(http('api.stripe.com'), '/v1/charges', [])).toEqual({ type: 'forward', inject: [] });
    expect(rules.check(http('git.corp.example'), '/', [])).toEqual({ type: 'forward', inject: [internal] });
  });

  it('refuses a placeholder bound elsewhere, saying why in plain words', () => {
    const elsewhere = rules.check(https('example.org'), '/', ['X-Key', stripe.placeholder]);
    expect(elsewhere).toMatchObject({ type: 'refuse', status: 403, secrets: ['stripe'] });
    expect(elsewhere.type === 'refuse' && elsewhere.reason).toContain('bound to api.stripe.com (https) paths /v1/*');
    const plain = rules.check(http('api.stripe.com'), `/v1/x?key=${stripe.placeholder}`, []);
    expect(plain.type === 'refuse' && plain.reason).toContain('plain http');
    const path = rules.check(https('api.stripe.com'), '/v2/x', ['Authorization', `Bearer ${stripe.placeholder}`]);
    expect(path.type === 'refuse' && path.reason).toContain('the path "/v2/x" is outside /v1/*');
    expect(JSON.stringify([elsewhere, plain, path])).not.toContain(stripe.placeholder);
  });

  it('lets a placeholder through to where its secret matches, and ignores Proxy-Authorization', () => {
    expect(rules.check(https('api.stripe.com'), '/v1/x', ['Authorization', `Bearer ${stripe.placeholder}`])).toEqual({ type: 'forward', inject: [stripe] });
    expect(rules.check(https('example.org'), '/', ['Proxy-Authorization', stripe.placeholder])).toEqual({ type: 'forward', inject: [] });
  });

  it('explains itself one line per secret', () => {
    expect(rules.explain()).toEqual([
      'secret "stripe": inject header Authorization into requests to api.stripe.com (https) paths /v1/*',
      'secret "internal": inject header Authorization into requests to *.corp.example (https or http)',
    ]);
  });
});

describe('injection', () => {
  it('renders {value}, {basic} and {basic:USER} templates', () => {
    expect(renderTemplate('Bearer {value}', 'v')).toBe('Bearer v');
    expect(renderTemplate('Basic {basic}', 'v')).toBe(`Basic ${Buffer.from('v').toString('base64')}`);
    expect(renderTemplate('Basic {basic:api}', 'v')).toBe(`Basic ${Buffer.from('api:v').toString('base64')}`);
  });

  it('sets a query parameter, replacing an existing one and keeping the others byte for byte', () => {
    expect(setQueryParam('/x', 'key', 'a b')).toBe('/x?key=a%20b');
    expect(setQueryParam('/x?key=old&b=%2F&key=again&c', 'key', 'v')).toBe('/x?b=%2F&c&key=v');
  });

  it('sets the configured header once, replaces placeholders and drops hop-by-hop headers', () => {
    const secret = proxySecret({ name: 's', value: 'sk_live_1', hosts: ['a.example.com'] });
    const head = buildOutgoingHead(
      `/p?t=${secret.placeholder}`,
      ['Host', 'a.example.com', 'authorization', 'Bearer mine', 'X-Copy', secret.placeholder, 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Proxy-Authorization', 'Basic x', 'TE', 'trailers', 'Transfer-Encoding', 'chunked'],
      [secret],
      () => 'REAL',
      false,
    );
    expect(head).toEqual({ path: '/p?t=REAL', headers: ['Host', 'a.example.com', 'X-Copy', 'REAL', 'Transfer-Encoding', 'chunked', 'Authorization', 'Bearer REAL'] });
  });

  it('keeps Connection and Upgrade on an upgrade request', () => {
    const head = buildOutgoingHead('/ws', ['Host', 'h', 'Connection', 'Upgrade', 'Upgrade', 'websocket'], [], () => '', true);
    expect(head.headers).toEqual(['Host', 'h', 'Connection', 'Upgrade', 'Upgrade', 'websocket']);
  });

  it('refuses a value that would break the header, naming the secret and not the value', () => {
    const secret = proxySecret({ name: 's', value: 'x', hosts: ['a.example.com'] });
    expect(() => buildOutgoingHead('/', [], [secret], () => 'evil\r\nX-Injected: 1', false)).toThrow(InjectionError);
    expect(() => buildOutgoingHead('/', [], [secret], () => 'evil\r\nX-Injected: 1', false)).toThrow(/secret "s"/);
  });

  it('drops hop-by-hop headers from responses but keeps their framing', () => {
    expect(responseHeaders(['Content-Type', 'text/plain', 'Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked'])).toEqual([
      'Content-Type', 'text/plain', 'Transfer-Encoding', 'chunked',
    ]);
  });
});
