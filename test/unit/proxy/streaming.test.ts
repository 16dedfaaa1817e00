import fs from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { findCanary, makeCanary } from '../../support/cli.js';
import { startUpstream, type Upstream } from '../../support/tls-upstream.js';
import { curl, httpsViaTunnel, openTunnel, type Reply, startTestProxy, type TestProxy } from './harness.js';

const API = 'api.example.test';

describe('streams and protocols through the proxy', () => {
  let up: Upstream;
  let tp: TestProxy;
  let dir: string;
  const canary = makeCanary('sk-ant-');
  const seenByClient: string[] = [];

  beforeAll(async () => {
    up = await startUpstream({ hostnames: [API] });
    tp = await startTestProxy([{ name: 'anthropic', value: canary, hosts: [API], injection: { type: 'header', header: 'x-api-key', template: '{value}' } }], {
      resolve: [{ host: API, port: 443, address: '127.0.0.1', targetPort: up.port }],
      extraUpstreamCa: [up.caPem],
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onecli-stream-test-'));
  });

  afterAll(async () => {
    await tp.close();
    await up.close();
    fs.rmSync(dir, { recursive: true, force: true });
    expect(findCanary(canary, { client: seenByClient.join('\n'), audit: JSON.stringify(tp.audit.records) })).toEqual([]);
  });

  /** A TLS connection to API through a fresh CONNECT tunnel, trusting only the run's CA. */
  const secureTunnel = async (): Promise<tls.TLSSocket> => {
    const raw = await openTunnel(tp.proxy.port, `${API}:443`, tp.authHeader);
    const secure = tls.connect({ socket: raw, servername: API, ca: tp.proxy.caCertPem });
    secure.once('close', () => raw.destroy());
    return secure;
  };

  it('delivers server-sent events as they are sent, before the stream ends', async () => {
    const secure = await secureTunnel();
    const events: string[] = [];
    let ended = false;
    const firstArrived = new Promise<void>((resolveFirst, reject) => {
      const req = https.request({ host: API, port: 443, path: '/sse?hold=1&count=3', createConnection: () => secure }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          events.push(...chunk.split('\n\n').filter((part) => part.startsWith('id:')));
          resolveFirst();
        });
        res.on('end', () => {
          ended = true;
        });
      });
      req.once('error', reject);
      req.end();
    });
    // The upstream holds the stream open after its first event until released: a buffering proxy never delivers it.
    await firstArrived;
    expect(ended).toBe(false);
    expect(events).toEqual(['id: 0\ndata: event 0']);
    up.releaseSse();
    await until(() => ended);
    expect(events).toHaveLength(3);
    expect(up.requests.at(-1)!.headers['x-api-key']).toBe(canary);
    secure.destroy();
  });

  it('carries a WebSocket round trip, with the credential injected on the upgrade request', async () => {
    const secure = await secureTunnel();
    const ws = new WebSocket(`wss://${API}/ws`, { createConnection: () => secure });
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hello through the tunnel'));
      ws.once('message', (data: Buffer) => resolve(data.toString('utf8')));
      ws.once('error', reject);
    });
    expect(echoed).toBe('hello through the tunnel');
    const upgrade = up.requests.at(-1)!;
    expect(upgrade.url).toBe('/ws');
    expect(upgrade.headers['x-api-key']).toBe(canary);
    expect(upgrade.headers.upgrade).toBe('websocket');
    ws.close();
    await until(() => tp.audit.records.some((record) => record.path === '/ws' && record.status === 101));
    expect(tp.audit.records.find((record) => record.path === '/ws')).toMatchObject({ decision: 'injected', secrets: ['anthropic'] });
  });

  it('keeps the client connection alive across requests in one tunnel', async () => {
    const secure = await secureTunnel();
    let connections = 0;
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    agent.createConnection = (): Duplex => {
      connections++;
      return secure;
    };
    for (let i = 0; i < 3; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = https.request({ host: API, port: 443, path: '/upload', method: 'POST', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.once('error', reject);
        req.end('x');
      });
      expect(status).toBe(200);
    }
    expect(connections).toBe(1);
    agent.destroy();
  });

  it('streams a large download without buffering it: a reader that stops holds the upstream back', async () => {
    const total = 256 * 1024 * 1024;
    const secure = await secureTunnel();
    const before = up.streamed;
    let received = 0;
    let paused!: (res: http.IncomingMessage) => void;
    const pausedNow = new Promise<http.IncomingMessage>((resolve) => (paused = resolve));
    const done = new Promise<number>((resolve, reject) => {
      const req = https.request({ host: API, port: 443, path: `/stream?bytes=${total}`, createConnection: () => secure }, (res) => {
        res.once('data', () => {
          res.pause();
          paused(res);
        });
        res.on('data', (chunk: Buffer) => (received += chunk.length));
        res.on('end', () => resolve(received));
      });
      req.once('error', reject);
      req.end();
    });
    const response = await pausedNow;
    // Wait until the upstream stops making progress, then see how far ahead of the reader it got.
    let last = -1;
    for (let still = 0, i = 0; still < 10 && i < 400; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      still = up.streamed === last ? still + 1 : 0;
      last = up.streamed;
    }
    const ahead = up.streamed - before - received;
    // Kernel socket buffers on two loopback hops hold some megabytes (about 7 MB here); a buffering proxy would
    // have taken all 256 MiB.
    expect(ahead).toBeLessThan(32 * 1024 * 1024);
    expect(up.streamed - before).toBeLessThan(total);
    response.resume();
    expect(await done).toBe(total);
    await until(() => tp.audit.records.some((record) => record.path === '/stream'));
    expect(tp.audit.records.find((record) => record.path === '/stream')).toMatchObject({ status: 200, bytes_out: total, decision: 'injected' });
  });

  it('streams an upload with Expect: 100-continue (curl) and a chunked one (Node)', async () => {
    const file = path.join(dir, 'upload.bin');
    const size = 24 * 1024 * 1024 + 7;
    fs.writeFileSync(file, Buffer.alloc(size, 0x62));
    const caFile = path.join(dir, 'run-ca.pem');
    fs.writeFileSync(caFile, tp.proxy.caCertPem);
    const result = await curl(['--proxy', tp.url, '--cacert', caFile, '-H', 'Expect: 100-continue', '--data-binary', `@${file}`, `https://${API}/upload`]);
    seenByClient.push(result.stdout, result.stderr);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ bytes: size });
    expect(up.requests.at(-1)!.headers.expect).toBe('100-continue');
    expect(tp.audit.records.at(-1)).toMatchObject({ method: 'POST', path: '/upload', bytes_in: size, decision: 'injected' });

    const secure = await secureTunnel();
    const chunked = await new Promise<Reply>((resolve, reject) => {
      const req = https.request({ host: API, port: 443, path: '/upload', method: 'POST', createConnection: () => secure }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.once('error', reject);
      for (let i = 0; i < 100; i++) req.write(Buffer.alloc(10_000, 0x63));
      req.end();
    });
    seenByClient.push(chunked.body);
    expect(up.requests.at(-1)!.headers['transfer-encoding']).toBe('chunked');
    expect(JSON.parse(chunked.body)).toEqual({ bytes: 1_000_000 });
  });

  it('serves 200 concurrent connections, every one of them successfully', async () => {
    const before = tp.audit.records.length;
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        httpsViaTunnel({ proxyPort: tp.proxy.port, authHeader: tp.authHeader, host: API, port: 443, ca: tp.proxy.caCertPem, path: `/upload?n=${i}`, method: 'POST', body: String(i) }),
      ),
    );
    seenByClient.push(...replies.map((reply) => reply.body));
    expect(replies.map((reply) => reply.status)).toEqual(Array.from({ length: 200 }, () => 200));
    const records = tp.audit.records.slice(before).filter((record) => record.path === '/upload');
    expect(records).toHaveLength(200);
    expect(records.every((record) => record.decision === 'injected')).toBe(true);
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}
