import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENTS, HOST, expectNoCanary, lastRequestTo, leftoverRunDirs, readEnvDump, setupRun, type RunFixture } from './run-harness.js';

const hasGo = spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
// In CI Go must be there (.ci/run installs golang-go): a missing Go fails the test instead of skipping it.
const goTest = hasGo || process.env['CI'] === 'true' ? it : it.skip;

const URL = `https://${HOST}/echo`;
let fx: RunFixture;
beforeAll(async () => {
  fx = await setupRun();
});
afterAll(async () => fx.cleanup());

/** Runs one agent runtime as the child and checks what the upstream and the child saw. */
async function expectAgentWorks(name: string, command: string[], timeoutMs = 60_000): Promise<void> {
  const before = fx.upstream.requests.length;
  const result = await fx.run(['--', ...command], { timeoutMs });
  expect(result.stderr).toBe('');
  expect(result.stdout.trim()).toBe('200');
  expect(result.code).toBe(0);

  const received = fx.upstream.requests.slice(before).filter((r) => r.url === '/echo');
  expect(received.length).toBeGreaterThan(0);
  for (const request of received) {
    expect(request.scheme).toBe('https');
    // compared as booleans so a failure never prints the value
    expect(request.headers['authorization'] === `Bearer ${fx.canary}`).toBe(true);
    expect(request.headers['x-api-key'] === fx.canary).toBe(true);
    expect(request.headers['proxy-authorization']).toBeUndefined();
  }

  const env = readEnvDump(fx, name);
  expect(env['DEMO_KEY']).toMatch(/^sk_live_onecliph[A-Za-z0-9]{32}$/);
  expect(env['HTTPS_PROXY']).toMatch(/^http:\/\/onecli:[0-9a-f]{64}@127\.0\.0\.1:\d+$/);
  expect(env['ONECLI_PASSPHRASE']).toBeUndefined();
  expect(env['NO_PROXY']).toBeUndefined();
  expectNoCanary(fx, { stdout: result.stdout, stderr: result.stderr, env: JSON.stringify(env) });
  expect(leftoverRunDirs(fx)).toEqual([]);
}

describe('onecli run with each agent runtime as the child', () => {
  it('curl gets a 200 and the upstream receives the real value', async () => {
    await expectAgentWorks('curl', [
      'sh', '-c',
      `node -e 'require("fs").writeFileSync(process.env.AGENT_OUT + "/env-curl.json", JSON.stringify(process.env))' && ` +
        `curl -sS -o /dev/null -w '%{http_code}\\n' -H "x-api-key: $DEMO_KEY" ${URL}`,
    ]);
  });

  it('Python requests gets a 200 and the upstream receives the real value', async () => {
    await expectAgentWorks('py-requests', ['/usr/bin/python3', path.join(AGENTS, 'py_requests.py'), URL]);
  });

  it('Python httpx gets a 200 and the upstream receives the real value', async () => {
    await expectAgentWorks('py-httpx', ['/usr/bin/python3', path.join(AGENTS, 'py_httpx.py'), URL]);
  });

  it('Node fetch gets a 200 and the upstream receives the real value', async () => {
    await expectAgentWorks('node-fetch', ['node', path.join(AGENTS, 'node-fetch.mjs'), URL]);
  });

  it('Node https.request gets a 200 and the upstream receives the real value', async () => {
    await expectAgentWorks('node-https', ['node', path.join(AGENTS, 'node-https.mjs'), URL]);
  });

  it('a Node SDK-style client with its own https.Agent made at load time gets a 200 with the real value', async () => {
    await expectAgentWorks('node-sdk', ['node', path.join(AGENTS, 'node-sdk.cjs'), URL]);
  });

  goTest('Go net/http gets a 200 and the upstream receives the real value', async () => {
    await expectAgentWorks('go', ['go', 'run', path.join(AGENTS, 'go-http', 'main.go'), URL], 180_000);
  }, 200_000);

  it('keeps the real value out of the audit log and the whole state folder', () => {
    expect(lastRequestTo(fx.upstream, '/echo')).toBeDefined();
    expectNoCanary(fx, {});
  });
});
