import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCanary } from '../../support/cli.js';
import { startUpstream, type Upstream } from '../../support/tls-upstream.js';
import { openTunnel, rawExchange, startTestProxy, type TestProxy, viaProxy } from './harness.js';

const API = 'api.example.test';

describe('malformed and truncated input', () => {
  let up: Upstream;
  let tp: TestProxy;

  beforeAll(async () => {
    up = await startUpstream({ hostnames: [API] });
    tp = await startTestProxy([{ name: 'stripe', value: makeCanary(), hosts: [API] }], {
      resolve: [{ host: API, port: 443, address: '127.0.0.1', targetPort: up.port }],
      extraUpstreamCa: [up.caPem],
    });
  });

  afterAll(async () => {
    await tp.close();
    await up.close();
  });

  /** Bytes sent to the proxy itself. */
  const outerCases = (auth: string): Array<{ bytes: string | Buffer; end: boolean; expect?: RegExp }> => [
    { bytes: 'GARBAGE\r\n\r\n', end: false, expect: /^HTTP\/1\.1 400 / },
    { bytes: 'GET http://api.example.test/ HTTP/1.1\r\nHost: api.exa', end: true },
    { bytes: 'GET http://api.example.test/ HTTP/1.1\r\nBad Header Line\r\n\r\n', end: false, expect: /^HTTP\/1\.1 400 / },
    { bytes: `CONNECT nonsense HTTP/1.1\r\nProxy-Authorization: ${auth}\r\n\r\n`, end: false, expect: /^HTTP\/1\.1 400 / },
    { bytes: `CONNECT ${API}:99999 HTTP/1.1\r\nProxy-Authorization: ${auth}\r\n\r\n`, end: false, expect: /^HTTP\/1\.1 400 / },
    { bytes: `CONNECT [::1 HTTP/1.1\r\nProxy-Authorization: ${auth}\r\n\r\n`, end: false, expect: /^HTTP\/1\.1 400 / },
    { bytes: `GET /not-absolute HTTP/1.1\r\nHost: x\r\nProxy-Authorization: ${auth}\r\nConnection: close\r\n\r\n`, end: false, expect: /^HTTP\/1\.1 400 / },
    { bytes: `GET http://user:pw@${API}/ HTTP/1.1\r\nHost: ${API}\r\nProxy-Authorization: ${auth}\r\nConnection: close\r\n\r\n`, end: false, expect: /^HTTP\/1\.1 400 / },
    // request smuggling shapes: both framings at once, or two lengths
    { bytes: `POST http://${API}/upload HTTP/1.1\r\nHost: ${API}\r\nProxy-Authorization: ${auth}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, end: false, expect: /^HTTP\/1\.1 400 / },
    { bytes: `POST http://${API}/upload HTTP/1.1\r\nHost: ${API}\r\nProxy-Authorization: ${auth}\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd`, end: false, expect: /^HTTP\/1\.1 400 / },
    { bytes: `GET http://${API}/ HTTP/1.1\r\nHost: ${API}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, end: false, expect: /^HTTP\/1\.1 431 / },
    { bytes: Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x01, 0x02, 0x03]), end: true },
    { bytes: Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7919) % 256)), end: true },
    { bytes: `CONNECT ${API}:443 HTTP/1.1\r\nProxy-Authorization: ${auth}\r\n\r\n`, end: true },
    { bytes: '', end: true },
  ];

  /** Bytes sent inside an intercepted tunnel, after the CONNECT was accepted. */
  const innerCases: Array<string | Buffer> = [
    'NOT HTTP AT ALL\r\n\r\n',
    `GET / HTTP/1.1\r\nHost: ${API}\r\nContent-Length: x\r\n\r\n`,
    Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0xde, 0xad, 0xbe, 0xef, 0x00]),
    Buffer.from([0x16, 0x03]),
  ];

  const inTunnel = async (bytes: string | Buffer): Promise<void> => {
    const socket = await openTunnel(tp.proxy.port, `${API}:443`, tp.authHeader);
    await new Promise<void>((resolve) => {
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      socket.once('close', () => resolve());
      socket.end(bytes);
    });
  };

  it('answers 400 (or closes) for 1,000 malformed or truncated requests and keeps serving everyone else', async () => {
    // A keep-alive TLS connection opened before the storm must still work after it.
    const raw = await openTunnel(tp.proxy.port, `${API}:443`, tp.authHeader);
    const secure = tls.connect({ socket: raw, servername: API, ca: tp.proxy.caCertPem });
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    agent.createConnection = (): Duplex => secure;
    const get = () =>
      new Promise<number>((resolve, reject) => {
        const req = https.request({ host: API, port: 443, path: '/upload', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.once('error', reject);
        req.end();
      });
    expect(await get()).toBe(200);

    const outer = outerCases(tp.authHeader);
    const jobs: Array<() => Promise<void>> = [];
    for (let i = 0; i < 1000; i++) {
      if (i % 5 === 4) {
        const bytes = innerCases[i % innerCases.length]!;
        jobs.push(() => inTunnel(bytes));
      } else {
        const item = outer[i % outer.length]!;
        jobs.push(async () => {
          const answer = await rawExchange(tp.proxy.port, item.bytes, item.end);
          if (item.expect !== undefined) expect(answer).toMatch(item.expect);
        });
      }
    }
    // 50 at a time, like a misbehaving agent with a connection pool.
    for (let i = 0; i < jobs.length; i += 50) await Promise.all(jobs.slice(i, i + 50).map((job) => job()));

    expect(await get()).toBe(200);
    const fresh = await viaProxy(tp.proxy.port, tp.authHeader, `https://${API}/upload`, { method: 'POST', body: 'still here' });
    expect(fresh.status).toBe(200);
    expect(JSON.parse(fresh.body)).toEqual({ bytes: 10 });
    agent.destroy();
    secure.destroy();
  });

  it('survives clients that vanish mid-response', async () => {
    for (let i = 0; i < 20; i++) {
      const socket = net.connect(tp.proxy.port, '127.0.0.1');
      await new Promise<void>((resolve) => {
        socket.on('error', () => undefined);
        socket.once('data', () => {
          socket.destroy();
          resolve();
        });
        socket.write(`GET https://${API}/stream?bytes=50000000 HTTP/1.1\r\nHost: ${API}\r\nProxy-Authorization: ${tp.authHeader}\r\n\r\n`);
      });
    }
    const after = await viaProxy(tp.proxy.port, tp.authHeader, `https://${API}/upload`);
    expect(after.status).toBe(200);
  });
});
