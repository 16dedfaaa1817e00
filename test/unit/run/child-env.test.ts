import { describe, expect, it } from 'vitest';
import { buildChildEnv, quoteNodeOption } from '../../../src/run/child-env.js';

const base = {
  proxyUrl: 'http://onecli:tok@127.0.0.1:4000',
  bundlePath: '/tmp/run/ca-bundle.pem',
  nodeCaPath: '/tmp/run/node-extra-ca.pem',
  preloadPath: '/tmp/run/node-preload.cjs',
  placeholders: new Map([['STRIPE_KEY', 'sk_live_onecliphXYZ']]),
};

describe('buildChildEnv', () => {
  it('points every proxy variable at the run proxy and removes NO_PROXY', () => {
    const env = buildChildEnv({ NO_PROXY: 'localhost', no_proxy: '*', HTTPS_PROXY: 'http://corp:3128', PATH: '/bin' }, base);
    for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'all_proxy']) {
      expect(env[name]).toBe(base.proxyUrl);
    }
    expect(env['NO_PROXY']).toBeUndefined();
    expect(env['no_proxy']).toBeUndefined();
    expect(env['PATH']).toBe('/bin');
  });

  it('gives the CA bundle to every client variable and the run CA to Node', () => {
    const env = buildChildEnv({ SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt', AWS_CA_BUNDLE: '/x.pem' }, base);
    for (const name of ['SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'GIT_SSL_CAINFO', 'DENO_CERT', 'AWS_CA_BUNDLE']) {
      expect(env[name]).toBe(base.bundlePath);
    }
    expect(env['PIP_CERT']).toBeUndefined();
    expect(env['NODE_EXTRA_CA_CERTS']).toBe(base.nodeCaPath);
    expect(env['NODE_USE_ENV_PROXY']).toBe('1');
  });

  it('appends the preload to NODE_OPTIONS, quoting a path with spaces', () => {
    expect(buildChildEnv({}, base)['NODE_OPTIONS']).toBe('--require /tmp/run/node-preload.cjs');
    const spaced = buildChildEnv({ NODE_OPTIONS: '--max-old-space-size=512' }, { ...base, preloadPath: '/tmp/my "run"/p.cjs' });
    expect(spaced['NODE_OPTIONS']).toBe('--max-old-space-size=512 --require "/tmp/my \\"run\\"/p.cjs"');
    expect(quoteNodeOption('C:\\a b')).toBe('"C:\\\\a b"');
  });

  it('sets each secret variable to its placeholder', () => {
    expect(buildChildEnv({ STRIPE_KEY: 'old' }, base)['STRIPE_KEY']).toBe('sk_live_onecliphXYZ');
  });

  it('drops the passphrase and other onecli variables but keeps ONECLI_HOME', () => {
    const env = buildChildEnv({ ONECLI_PASSPHRASE: 'pw', ONECLI_NEW_PASSPHRASE: 'pw2', ONECLI_TEST_KDF: '1', ONECLI_HOME: '/s' }, base);
    expect(env['ONECLI_PASSPHRASE']).toBeUndefined();
    expect(env['ONECLI_NEW_PASSPHRASE']).toBeUndefined();
    expect(env['ONECLI_TEST_KDF']).toBeUndefined();
    expect(env['ONECLI_HOME']).toBe('/s');
  });

  it('drops any inherited variable that holds a secret value', () => {
    const env = buildChildEnv({ MY_KEY: 'sk_live_real', OTHER: 'x sk_live_real y', FINE: 'v' }, { ...base, scrubValues: ['sk_live_real', ''] });
    expect(env['MY_KEY']).toBeUndefined();
    expect(env['OTHER']).toBeUndefined();
    expect(env['FINE']).toBe('v');
  });

  it('does not let a very short value wipe out unrelated variables such as PATH', () => {
    const env = buildChildEnv({ PATH: '/usr/bin:/bin', SHORT: 'x' }, { ...base, scrubValues: ['x', 'b'] });
    expect(env['PATH']).toBe('/usr/bin:/bin');
  });
});
