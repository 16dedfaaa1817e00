import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli, runProcess } from '../support/cli.js';
import { startUpstream, type Upstream } from '../support/tls-upstream.js';
import { HOST, OTHER, expectNoCanary, setupRun, type RunFixture } from './run-harness.js';

let fx: RunFixture;
let untrusted: Upstream;
beforeAll(async () => {
  fx = await setupRun();
  untrusted = await startUpstream({ hostnames: ['untrusted.test.example'], untrusted: true });
  const add = await runCli(['secret', 'add', 'bad', '--host', 'untrusted.test.example', '--header', 'Authorization: Bearer {value}'], {
    env: fx.env(),
    input: fx.canary,
  });
  expect(add.code).toBe(0);
});
afterAll(async () => {
  await untrusted.close();
  await fx.cleanup();
});

/** `sh -c SCRIPT` as the child; curl failures stay on stderr, the printed codes on stdout. */
function sh(script: string): string[] {
  return ['--', 'sh', '-c', script];
}

const curlCode = (args: string) => `curl -sS -o /dev/null -w '%{http_code} %{http_connect}\\n' ${args} 2>/dev/null || true`;

describe('onecli run policy, end to end', () => {
  it('blocks a placeholder sent to another host over plain http, and it never arrives', async () => {
    const result = await fx.run(sh(curlCode(`-H "x-api-key: $DEMO_KEY" http://${OTHER}/echo?leak-http`)));
    expect(result.stdout.trim()).toBe('403 000');
    expect(fx.upstream.requests.some((r) => r.url.includes('leak-http'))).toBe(false);
    expectNoCanary(fx, { stdout: result.stdout, stderr: result.stderr });
  });

  it('blocks a placeholder sent to another HTTPS host under --inspect-all, and it never arrives', async () => {
    const result = await fx.run(['--inspect-all', ...sh(curlCode(`-H "x-api-key: $DEMO_KEY" https://${OTHER}/echo?leak-https`))]);
    expect(result.stdout.trim()).toBe('403 200');
    expect(fx.upstream.requests.some((r) => r.url.includes('leak-https'))).toBe(false);
  });

  it('answers 407 without a token and with a wrong one', async () => {
    const script = [
      'port=${HTTPS_PROXY##*:}',
      curlCode(`--proxy "http://127.0.0.1:$port" https://${HOST}/echo?no-token`),
      curlCode(`--proxy "http://onecli:${'0'.repeat(64)}@127.0.0.1:$port" https://${HOST}/echo?wrong-token`),
    ].join('; ');
    const result = await fx.run(sh(script));
    expect(result.stdout.trim().split('\n')).toEqual(['000 407', '000 407']);
    expect(fx.upstream.requests.some((r) => /no-token|wrong-token/.test(r.url))).toBe(false);
  });

  it('makes the token useless once the run is over', async () => {
    const saved = path.join(fx.out, 'proxy-url');
    const result = await fx.run(sh(`printf %s "$HTTPS_PROXY" > ${saved}`));
    expect(result.code).toBe(0);
    const proxyUrl = fs.readFileSync(saved, 'utf8');
    const after = await runProcess('sh', ['-c', curlCode(`--proxy "${proxyUrl}" https://${HOST}/echo?after-run`)], { env: cleanEnv() });
    expect(after.stdout.trim()).not.toMatch(/200$/);
    expect(fx.upstream.requests.some((r) => r.url.includes('after-run'))).toBe(false);
  });

  it('refuses hosts no secret matches with --deny-unmatched, and still serves matching ones', async () => {
    const result = await fx.run(['--deny-unmatched', ...sh(`${curlCode(`https://${OTHER}/echo?denied`)}; ${curlCode(`https://${HOST}/echo?allowed`)}`)]);
    expect(result.stdout.trim().split('\n')).toEqual(['000 403', '200 200']);
    expect(fx.upstream.requests.some((r) => r.url.includes('denied'))).toBe(false);
  });

  it('tunnels hosts no secret matches untouched, without the credential', async () => {
    const result = await fx.run(sh(curlCode(`https://${OTHER}/echo?tunnelled`)));
    expect(result.stdout.trim()).toBe('200 200');
    const got = fx.upstream.requests.find((r) => r.url.includes('tunnelled'));
    expect(got?.headers['authorization']).toBeUndefined();
  });

  it('never sends the credential when the Host header names another host than the CONNECT target', async () => {
    const result = await fx.run(sh(curlCode(`-H "Host: ${OTHER}" https://${HOST}/echo?host-mismatch`)));
    expect(result.stdout.trim()).toMatch(/^(400|421) 200$/);
    const got = fx.upstream.requests.filter((r) => r.url.includes('host-mismatch'));
    expect(got.every((r) => r.headers['authorization'] === undefined)).toBe(true);
  });

  it('answers 502 and sends nothing to an upstream whose certificate is not trusted', async () => {
    const result = await fx.run([
      '--resolve', `untrusted.test.example:443:127.0.0.1:${untrusted.port}`,
      ...sh(curlCode('https://untrusted.test.example/echo')),
    ]);
    expect(result.stdout.trim()).toBe('502 200');
    expect(untrusted.requests).toEqual([]);
    expectNoCanary(fx, { stdout: result.stdout, stderr: result.stderr });
  });

  it('still starts the command when the audit log cannot be written, but the proxy refuses its requests', async () => {
    // A file where the audit folder should be: unwritable even for root (these tests may run as root).
    const auditDir = path.join(fx.sandbox.onecliHome, 'audit');
    const aside = `${auditDir}.aside`;
    fs.renameSync(auditDir, aside);
    fs.writeFileSync(auditDir, '');
    try {
      const result = await fx.run(sh(`echo started; ${curlCode(`https://${HOST}/echo?unaudited`)}`));
      expect(result.stdout.split('\n')[0]).toBe('started');
      expect(result.stdout.split('\n')[1]).not.toMatch(/^200/);
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('onecli: warning: the audit log could not be written');
      expect(fx.upstream.requests.some((r) => r.url.includes('unaudited'))).toBe(false);
    } finally {
      fs.rmSync(auditDir);
      fs.renameSync(aside, auditDir);
    }
  });
});
