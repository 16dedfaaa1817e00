import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRunFiles, type RunFiles } from '../../../src/run/run-files.js';
import { cleanEnv, makeSandbox, runProcess, type Sandbox } from '../../support/cli.js';
import { startUpstream, type Upstream } from '../../support/tls-upstream.js';

/**
 * A minimal CONNECT-only proxy that records what it was asked for, so the test sees what the preload really sends.
 * It maps api.test.example:443 to the upstream's TLS port and :80 to its plain port.
 */
interface RecordingProxy {
  port: number;
  connects: Array<{ target: string; auth: string | undefined }>;
  plainRequests: string[];
  close(): Promise<void>;
}

async function startRecordingProxy(token: string, upstream: Upstream): Promise<RecordingProxy> {
  const connects: RecordingProxy['connects'] = [];
  const plainRequests: string[] = [];
  const sockets = new Set<net.Socket>();
  const expected = `Basic ${Buffer.from(`onecli:${token}`).toString('base64')}`;
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      client.removeListener('data', onData);
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const [method, target] = (lines[0] ?? '').split(' ');
      const auth = lines.find((l) => /^proxy-authorization:/i.test(l))?.replace(/^[^:]+:\s*/, '');
      if (method !== 'CONNECT') {
        plainRequests.push(lines[0] ?? '');
        client.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
        return;
      }
      connects.push({ target: target ?? '', auth });
      if (auth !== expected) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm="onecli"\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      const port = target === 'api.test.example:80' ? upstream.httpPort : upstream.port;
      const up = net.connect({ host: '127.0.0.1', port }, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        const rest = head.subarray(end + 4);
        if (rest.length > 0) up.write(rest);
        client.pipe(up).pipe(client);
      });
      up.on('error', () => client.destroy());
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    connects,
    plainRequests,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const TOKEN = 'a'.repeat(64);
let sandbox: Sandbox;
let upstream: Upstream;
let proxy: RecordingProxy;
let files: RunFiles;
let caFile: string;

function childEnv(token = TOKEN): NodeJS.ProcessEnv {
  const url = `http://onecli:${token}@127.0.0.1:${proxy.port}`;
  return cleanEnv({
    HTTPS_PROXY: url,
    HTTP_PROXY: url,
    NODE_EXTRA_CA_CERTS: caFile,
    NODE_OPTIONS: `--require "${files.preloadPath}"`,
  });
}

async function node(script: string, env = childEnv()) {
  return runProcess(process.execPath, ['-e', script], { env, cwd: sandbox.dir, timeoutMs: 20_000 });
}

beforeAll(async () => {
  sandbox = makeSandbox('onecli-preload-');
  upstream = await startUpstream({ hostnames: ['api.test.example'] });
  proxy = await startRecordingProxy(TOKEN, upstream);
  caFile = path.join(sandbox.dir, 'upstream-ca.pem');
  fs.writeFileSync(caFile, upstream.caPem);
  // A folder with a space in its name: NODE_OPTIONS must quote the preload's path.
  const tmp = path.join(sandbox.dir, 'tmp dir');
  fs.mkdirSync(tmp);
  files = writeRunFiles({ caCertPem: upstream.caPem, extraCaPems: [], tmpDir: tmp });
});

afterAll(async () => {
  files.remove();
  await proxy.close();
  await upstream.close();
  sandbox.cleanup();
});

describe('the Node preload', () => {
  it('sends the built-in fetch through the proxy with the token', async () => {
    const before = proxy.connects.length;
    const result = await node(`fetch('https://api.test.example/echo').then(r => console.log(r.status))`);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('200');
    expect(proxy.connects.slice(before)).toEqual([
      { target: 'api.test.example:443', auth: `Basic ${Buffer.from(`onecli:${TOKEN}`).toString('base64')}` },
    ]);
  });

  it('sends https.request on the global agent through a CONNECT tunnel', async () => {
    const before = proxy.connects.length;
    const result = await node(`require('https').get('https://api.test.example/echo', (res) => { console.log(res.statusCode); res.resume(); })`);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('200');
    expect(proxy.connects.slice(before).map((c) => c.target)).toEqual(['api.test.example:443']);
  });

  it('covers an https.Agent a library created at load time, and reuses its kept-alive tunnel', async () => {
    const before = proxy.connects.length;
    const script = `
      const https = require('https');
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
      const get = () => new Promise((resolve, reject) => {
        https.get('https://api.test.example/echo', { agent }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); }).on('error', reject);
      });
      get().then((a) => get().then((b) => { console.log(a, b); agent.destroy(); }));
    `;
    const result = await node(script);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('200 200');
    expect(proxy.connects.slice(before).map((c) => c.target)).toEqual(['api.test.example:443']);
  });

  it('sends plain http through a CONNECT tunnel too', async () => {
    const before = proxy.connects.length;
    const result = await node(`require('http').get('http://api.test.example/echo', (res) => { console.log(res.statusCode); res.resume(); })`);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('200');
    expect(proxy.connects.slice(before).map((c) => c.target)).toEqual(['api.test.example:80']);
    expect(upstream.requests.at(-1)?.scheme).toBe('http');
  });

  it('does not tunnel a connection to the proxy itself', async () => {
    const before = proxy.connects.length;
    const result = await node(`require('http').get('http://127.0.0.1:${proxy.port}/status', (res) => { console.log(res.statusCode); res.resume(); })`);
    expect(result.stdout.trim()).toBe('200');
    expect(proxy.connects.length).toBe(before);
    expect(proxy.plainRequests.at(-1)).toBe('GET /status HTTP/1.1');
  });

  it('turns a refused tunnel into an ordinary request error', async () => {
    const result = await node(
      `require('https').get('https://api.test.example/echo', () => console.log('response')).on('error', (e) => console.log('error', e.code, e.message))`,
      childEnv('b'.repeat(64)),
    );
    expect(result.stdout).toMatch(/^error ECONNREFUSED onecli proxy: refused: HTTP\/1\.1 407/);
  });

  it('does nothing when the process has no proxy variables', async () => {
    const result = await node(
      `console.log(require('https').Agent.prototype.createConnection.__onecli === true)`,
      cleanEnv({ NODE_OPTIONS: `--require "${files.preloadPath}"` }),
    );
    expect(result.stdout.trim()).toBe('false');
  });
});
