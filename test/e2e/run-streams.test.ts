import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENTS, HOST, expectNoCanary, lastRequestTo, setupRun, waitForFile, type RunFixture } from './run-harness.js';

const GIB = 1024 * 1024 * 1024;
/** onecli's whole process (CLI + proxy) while 1 GiB goes through: far below the GiB a buffering proxy would hold. */
const RSS_BOUND_KIB = 200 * 1024;

let fx: RunFixture;
beforeAll(async () => {
  fx = await setupRun();
});
afterAll(async () => fx.cleanup());

function rssKiB(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

describe('onecli run streaming, end to end', () => {
  it('streams 1 GiB through an injected connection with the proxy RSS staying bounded', async () => {
    const live = fx.start(['--', 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download}\n', `https://${HOST}/stream?bytes=${GIB}`]);
    const samples: number[] = [];
    const sampler = setInterval(() => {
      const rss = live.child.pid === undefined ? null : rssKiB(live.child.pid);
      if (rss !== null) samples.push(rss);
    }, 100);
    const result = await live.done.finally(() => clearInterval(sampler));
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(`200 ${GIB}`);
    expect(lastRequestTo(fx.upstream, '/stream')?.headers['authorization'] === `Bearer ${fx.canary}`).toBe(true);
    expect(samples.length).toBeGreaterThan(5);
    console.log(`onecli peak RSS while streaming 1 GiB: ${Math.round(Math.max(...samples) / 1024)} MiB over ${samples.length} samples`);
    expect(Math.max(...samples)).toBeLessThan(RSS_BOUND_KIB);
  }, 180_000);

  it('delivers a Server-Sent Event before the stream ends', async () => {
    const first = path.join(fx.out, 'sse-first');
    const live = fx.start(['--', 'node', path.join(AGENTS, 'node-sse.mjs'), `https://${HOST}/sse?hold=1&count=3`]);
    // The upstream holds the rest of the stream until released: the agent can only see the first event if the proxy
    // forwarded it as it came.
    await waitForFile(first);
    fx.upstream.releaseSse();
    const result = await live.done;
    expect(result.stdout.trim()).toBe('200 3');
    expect(result.code).toBe(0);
  });

  it('carries a WebSocket round trip, with the credential on the upgrade request', async () => {
    const result = await fx.run(['--', 'node', path.join(AGENTS, 'node-ws.mjs'), `wss://${HOST}/ws`]);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('echo: ping through onecli');
    expect(lastRequestTo(fx.upstream, '/ws')?.headers['authorization'] === `Bearer ${fx.canary}`).toBe(true);
  });

  it('serves 200 concurrent connections from one agent', async () => {
    const before = fx.upstream.requests.length;
    const result = await fx.run(['--', 'node', path.join(AGENTS, 'node-concurrent.mjs'), `https://${HOST}/echo`, '200']);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('200/200');
    expect(fx.upstream.requests.slice(before).filter((r) => r.url === '/echo')).toHaveLength(200);
    expectNoCanary(fx, { stdout: result.stdout, stderr: result.stderr });
  });
});
