import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { AGENTS, HOST, expectNoCanary, lastRequestTo, processArgs, readEnvDump, setupRun, waitForFile, type RunFixture } from './run-harness.js';

let fx: RunFixture;
beforeAll(async () => {
  fx = await setupRun();
});
afterAll(async () => fx.cleanup());

/** Malformed or truncated things to send a proxy, each on its own connection. */
function malformed(i: number, auth: string): Buffer {
  const kinds = [
    'GARBAGE\r\n\r\n',
    'CONNECT\r\n\r\n',
    `CONNECT ${HOST}:443 HTTP/1.1\r\nProxy-Authorization: ${auth}\r\n`, // truncated head
    `CONNECT ${HOST}:notaport HTTP/1.1\r\nProxy-Authorization: ${auth}\r\n\r\n`,
    `GET http://${HOST}/ HTTP/1.1\r\nProxy-Authorization: ${auth}\r\nContent-Length: -5\r\n\r\n`,
    `GET / HTTP/1.1\r\nHost: ${'x'.repeat(70_000)}\r\n\r\n`,
    `CONNECT ${HOST}:443 HTTP/1.1\r\nProxy-Authorization: Basic !!!\r\n\r\n`,
    `\x16\x03\x01\x00\x05hello`,
    `POST http://${HOST}/upload HTTP/1.1\r\nProxy-Authorization: ${auth}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
    '\x00\x01\x02\x03',
  ];
  return Buffer.from(kinds[i % kinds.length]!, 'latin1');
}

function sendAndClose(port: number, payload: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.end(payload);
    });
    socket.on('data', () => undefined);
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.setTimeout(5_000, () => socket.destroy());
  });
}

describe('onecli run sessions, end to end', () => {
  it('keeps serving after 1,000 malformed requests', async () => {
    const live = fx.start(['--', 'node', path.join(AGENTS, 'node-steps.mjs'), `https://${HOST}/echo?after-malformed`, '1']);
    await waitForFile(path.join(fx.out, 'ready'));
    const proxy = new URL(readEnvDump(fx, 'steps')['HTTPS_PROXY']!);
    const auth = `Basic ${Buffer.from(`onecli:${proxy.password}`).toString('base64')}`;
    for (let batch = 0; batch < 1000; batch += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => sendAndClose(Number(proxy.port), malformed(batch + i, auth))));
    }
    fs.writeFileSync(path.join(fx.out, 'go-1'), '');
    const result = await live.done;
    expect(fs.readFileSync(path.join(fx.out, 'done-1'), 'utf8')).toBe('200');
    expect(result.code).toBe(0);
    expect(lastRequestTo(fx.upstream, '/echo')?.url).toBe('/echo?after-malformed');
  }, 120_000);

  it('uses a value rotated during the run from the next request on', async () => {
    for (const name of ['ready', 'go-1', 'go-2', 'done-1', 'done-2']) fs.rmSync(path.join(fx.out, name), { force: true });
    const rotated = `${fx.canary}ROTATED`;
    const live = fx.start(['--', 'node', path.join(AGENTS, 'node-steps.mjs'), `https://${HOST}/echo?rotation`, '2']);
    await waitForFile(path.join(fx.out, 'ready'));
    fs.writeFileSync(path.join(fx.out, 'go-1'), '');
    await waitForFile(path.join(fx.out, 'done-1'));
    expect(lastRequestTo(fx.upstream, '/echo')?.headers['authorization'] === `Bearer ${fx.canary}`).toBe(true);

    // nothing on any process's command line holds the value while the run is live
    expectNoCanary(fx, { ps: await processArgs() });

    const rotate = await runCli(['rotate', 'demo'], { env: fx.env(), input: rotated });
    expect(rotate.code).toBe(0);
    fs.writeFileSync(path.join(fx.out, 'go-2'), '');
    const result = await live.done;
    expect(fs.readFileSync(path.join(fx.out, 'done-2'), 'utf8')).toBe('200');
    expect(lastRequestTo(fx.upstream, '/echo')?.headers['authorization'] === `Bearer ${rotated}`).toBe(true);
    expect(result.code).toBe(0);
    expectNoCanary(fx, { stdout: result.stdout, stderr: result.stderr, rotate: rotate.stdout + rotate.stderr, ps: await processArgs() });
  });
});
