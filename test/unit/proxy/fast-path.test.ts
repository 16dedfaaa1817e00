import https from 'node:https';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BodyTracker, FramingError, parseRequestHead, parseResponseHead } from '../../../src/proxy/framing.js';
import { makeCanary } from '../../support/cli.js';
import { startUpstream, type Upstream } from '../../support/tls-upstream.js';
import { openTunnel, startTestProxy, type TestProxy } from './harness.js';

const API = 'api.example.test';
const OTHER = 'other.example.test';

/** Feeds `bytes` to a tracker in the given pieces; what it passed on, and where in the whole the body ended. */
function track(framing: ConstructorParameters<typeof BodyTracker>[0], pieces: Buffer[]): { out: string; end: number; payload: number; done: boolean } {
  const tracker = new BodyTracker(framing);
  const out: Buffer[] = [];
  let offset = 0;
  let end = -1;
  for (const piece of pieces) {
    const at = tracker.feed(piece, 0, (chunk) => out.push(Buffer.from(chunk)));
    if (end < 0 && tracker.done) end = offset + at;
    offset += piece.length;
  }
  return { out: Buffer.concat(out).toString('latin1'), end, payload: tracker.payload, done: tracker.done };
}

function splitAt(text: string, cuts: number[]): Buffer[] {
  const bytes = Buffer.from(text, 'latin1');
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    if (point > from) pieces.push(bytes.subarray(from, point));
    from = Math.max(from, point);
  }
  return pieces;
}

describe('the fast path\'s framing', () => {
  const chunked = '5;ext=1\r\nhello\r\n0a\r\n0123456789\r\n0\r\nX-Trailer: sk_live_placeholder\r\nOther: 1\r\n\r\nGET /next';
  const bodyEnd = chunked.indexOf('GET /next');

  it('finds the end of a chunked body however it is split, passing the chunks on and dropping trailer fields', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 6 }), (cuts) => {
        const result = track({ type: 'chunked' }, splitAt(chunked, cuts));
        expect(result).toEqual({ out: '5;ext=1\r\nhello\r\n0a\r\n0123456789\r\n0\r\n\r\n', end: bodyEnd, payload: 15, done: true });
      }),
    );
  });

  it('passes a chunked body without trailers on byte for byte, and a sized one up to its length only', () => {
    expect(track({ type: 'chunked' }, splitAt('3\r\nabc\r\n0\r\n\r\nrest', [1, 5, 9, 11]))).toEqual({ out: '3\r\nabc\r\n0\r\n\r\n', end: 13, payload: 3, done: true });
    expect(track({ type: 'length', length: 4 }, splitAt('abcdefgh', [2]))).toEqual({ out: 'abcd', end: 4, payload: 4, done: true });
  });

  it('refuses broken chunk framing', () => {
    for (const bad of ['x\r\n', '5\nhello', '3\r\nabcX\r\n', `${'f'.repeat(14)}\r\n`, '0\r\nA: b\n']) {
      expect(() => track({ type: 'chunked' }, [Buffer.from(bad, 'latin1')]), bad).toThrow(FramingError);
    }
  });

  it('leaves every unusual or malformed request head to Node\'s parser', () => {
    const head = (lines: string[]): string => `${lines.join('\r\n')}\r\n\r\n`;
    const plain = parseRequestHead(Buffer.from(head(['POST /v1?q=1 HTTP/1.1', `Host: ${API}`, 'Content-Length: 3', 'Connection: close']), 'latin1'));
    expect(plain).toMatchObject({ type: 'head', method: 'POST', target: '/v1?q=1', host: API, body: { type: 'length', length: 3 }, close: true });
    const others = [
      ['GET / HTTP/1.0', `Host: ${API}`],
      ['GET http://api.example.test/ HTTP/1.1', `Host: ${API}`],
      ['CONNECT a:1 HTTP/1.1', `Host: ${API}`],
      ['GET / HTTP/1.1'],
      ['GET / HTTP/1.1', `Host: ${API}`, `Host: ${OTHER}`],
      ['POST / HTTP/1.1', `Host: ${API}`, 'Content-Length: 4', 'Transfer-Encoding: chunked'],
      ['POST / HTTP/1.1', `Host: ${API}`, 'Content-Length: 4', 'Content-Length: 4'],
      ['POST / HTTP/1.1', `Host: ${API}`, 'Content-Length: x'],
      ['POST / HTTP/1.1', `Host: ${API}`, 'Transfer-Encoding: gzip, chunked'],
      ['GET / HTTP/1.1', `Host: ${API}`, 'Upgrade: websocket', 'Connection: Upgrade'],
      ['POST / HTTP/1.1', `Host: ${API}`, 'Expect: 100-continue', 'Content-Length: 1'],
      ['GET / HTTP/1.1', `Host: ${API}`, 'X-Folded: a', ' b'],
      ['GET / HTTP/1.1', `Host: ${API}`, 'Bad Name: a'],
      ['GET / HTTP/1.1', `Host: ${API}`, 'X-Ctl: a\u0001b'],
      ['GET /\u00e9 HTTP/1.1', `Host: ${API}`],
    ];
    for (const lines of others) expect(parseRequestHead(Buffer.from(head(lines), 'latin1')).type, lines.join(' | ')).toBe('other');
    expect(parseRequestHead(Buffer.from(`GET / HTTP/1.1\r\nHost: ${API}\r\n`, 'latin1')).type).toBe('incomplete');
    expect(parseRequestHead(Buffer.from(`GET / HTTP/1.1\r\nX: ${'a'.repeat(20_000)}`, 'latin1')).type).toBe('other');
  });

  it('frames responses as RFC 9112 says: HEAD, 1xx, 204 and 304 without a body; chunked; sized; else until close', () => {
    const response = (status: string, headers: string[], method = 'GET') => parseResponseHead(Buffer.from(`${[status, ...headers].join('\r\n')}\r\n\r\n`, 'latin1'), method);
    expect(response('HTTP/1.1 200 OK', ['Content-Length: 9'], 'HEAD')).toMatchObject({ body: { type: 'none' }, close: false });
    expect(response('HTTP/1.1 204 No Content', [])).toMatchObject({ body: { type: 'none' } });
    expect(response('HTTP/1.1 103 Early Hints', ['Link: </a>'])).toMatchObject({ status: 103, body: { type: 'none' } });
    expect(response('HTTP/1.1 200 OK', ['Transfer-Encoding: chunked'])).toMatchObject({ body: { type: 'chunked' }, close: false });
    expect(response('HTTP/1.1 200 OK', ['Content-Length: 5', 'Connection: close'])).toMatchObject({ body: { type: 'length', length: 5 }, close: true });
    expect(response('HTTP/1.0 200 OK', ['Content-Length: 5'])).toMatchObject({ close: true });
    expect(response('HTTP/1.1 200 OK', [])).toMatchObject({ body: { type: 'close' }, close: true });
    expect(response('HTTP/1.1 200 OK', ['Content-Length: 5', 'Transfer-Encoding: chunked']).type).toBe('invalid');
    expect(response('HTTP/1.1 200 OK', ['Content-Length: 5', 'Content-Length: 6']).type).toBe('invalid');
    expect(response('HTTP/2 200', []).type).toBe('invalid');
  });
});

describe('the fast path on a decrypted connection', () => {
  let up: Upstream;
  let tp: TestProxy;
  const stripe = makeCanary();
  const github = makeCanary();

  beforeAll(async () => {
    up = await startUpstream({ hostnames: [API, OTHER] });
    tp = await startTestProxy(
      [
        { name: 'stripe', value: stripe, hosts: [API] },
        { name: 'github', value: github, hosts: [OTHER] },
      ],
      {
        resolve: [
          { host: API, port: 443, address: '127.0.0.1', targetPort: up.port },
          { host: OTHER, port: 443, address: '127.0.0.1', targetPort: up.port },
        ],
        extraUpstreamCa: [up.caPem],
      },
    );
  });

  afterAll(async () => {
    await tp.close();
    await up.close();
  });

  const secureTunnel = async (): Promise<tls.TLSSocket> => {
    const raw = await openTunnel(tp.proxy.port, `${API}:443`, tp.authHeader);
    return tls.connect({ socket: raw, servername: API, ca: tp.proxy.caCertPem });
  };

  it('answers pipelined requests in order, each injected and recorded once, trailers never forwarded', async () => {
    const secure = await secureTunnel();
    const before = { upstream: up.requests.length, records: tp.audit.records.length };
    const placeholder = tp.secrets.get('stripe')!.placeholder;
    const requests = [
      `GET /upload HTTP/1.1\r\nHost: ${API}\r\n\r\n`,
      `POST /upload HTTP/1.1\r\nHost: ${API}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Late: ${placeholder}\r\n\r\n`,
      `POST /upload HTTP/1.1\r\nHost: ${API}\r\nContent-Length: 4\r\nConnection: close\r\n\r\nwxyz`,
    ];
    const text = await new Promise<string>((resolve) => {
      let got = '';
      secure.on('data', (chunk: Buffer) => (got += chunk.toString('latin1')));
      secure.on('error', () => undefined);
      secure.once('close', () => resolve(got));
      secure.write(requests.join(''));
    });
    const bodies = [...text.matchAll(/\r\n\r\n(\{"bytes":\d+\})/g)].map((match) => match[1]);
    expect(bodies).toEqual(['{"bytes":0}', '{"bytes":5}', '{"bytes":4}']);
    expect([...text.matchAll(/HTTP\/1\.1 200 /g)]).toHaveLength(3);
    const seen = up.requests.slice(before.upstream);
    expect(seen.map((request) => request.method)).toEqual(['GET', 'POST', 'POST']);
    expect(seen.every((request) => request.headers.authorization === `Bearer ${stripe}`)).toBe(true);
    const records = tp.audit.records.slice(before.records);
    expect(records.map((record) => [record.method, record.status, record.decision, record.bytes_in])).toEqual([
      ['GET', 200, 'injected', 0],
      ['POST', 200, 'injected', 5],
      ['POST', 200, 'injected', 4],
    ]);
  });

  it('hands a connection to the full path mid-way for a refusal, and the full path keeps serving it', async () => {
    const secure = await secureTunnel();
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    agent.createConnection = (): Duplex => secure;
    const get = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = https.request({ host: API, port: 443, path: '/upload', agent, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.once('error', reject);
        req.end();
      });
    const before = { upstream: up.requests.length, records: tp.audit.records.length };
    expect(await get({})).toBe(200);
    // github's placeholder may not go to API: the full path refuses it, on the same connection
    expect(await get({ 'x-token': tp.secrets.get('github')!.placeholder })).toBe(403);
    expect(await get({})).toBe(200);
    agent.destroy();
    secure.destroy();
    expect(up.requests.length).toBe(before.upstream + 2);
    expect(tp.audit.records.slice(before.records).map((record) => [record.status, record.decision])).toEqual([
      [200, 'injected'],
      [403, 'blocked'],
      [200, 'injected'],
    ]);
  });
});
