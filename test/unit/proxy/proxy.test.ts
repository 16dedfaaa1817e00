import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCanary, makeCanary } from '../../support/cli.js';
import { startUpstream, type Upstream } from '../../support/tls-upstream.js';
import { connectStatus, curl, httpsViaTunnel, openTunnel, type Reply, startTestProxy, type TestProxy, viaProxy } from './harness.js';

const API = 'api.example.test';
const OTHER = 'other.example.test';

describe('the credential-injecting proxy', () => {
  let up: Upstream;
  let tp: TestProxy;
  let dir: string;
  let runCaFile: string;
  const stripe = makeCanary('sk_live_');
  const github = makeCanary('ghp_');
  const mapsKey = makeCanary('AIza');
  const replies: Reply[] = [];

  beforeAll(async () => {
    up = await startUpstream({ hostnames: [API, OTHER] });
    tp = await startTestProxy(
      [
        { name: 'stripe', value: stripe, hosts: [API] },
        { name: 'github', value: github, hosts: [OTHER], paths: ['/upload', '/echo'], injection: { type: 'header', header: 'X-Github-Token', template: '{value}' } },
        { name: 'maps', value: mapsKey, hosts: [API], injection: { type: 'query', param: 'key' } },
      ],
      {
        resolve: [
          { host: API, port: 443, address: '127.0.0.1', targetPort: up.port },
          { host: OTHER, port: 443, address: '127.0.0.1', targetPort: up.port },
          { host: API, port: 80, address: '127.0.0.1', targetPort: up.httpPort },
        ],
        extraUpstreamCa: [up.caPem],
      },
    );
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onecli-proxy-test-'));
    runCaFile = path.join(dir, 'run-ca.pem');
    fs.writeFileSync(runCaFile, tp.proxy.caCertPem);
  });

  afterAll(async () => {
    await tp.close();
    await up.close();
    fs.rmSync(dir, { recursive: true, force: true });
    // The canary values may only ever reach the upstream: never a reply to the client, never the audit log.
    const texts: Record<string, string> = { audit: JSON.stringify(tp.audit.records) };
    replies.forEach((reply, i) => (texts[`reply ${i}`] = JSON.stringify(reply)));
    for (const canary of [stripe, github, mapsKey]) expect(findCanary(canary, texts)).toEqual([]);
  });

  const tunnel = async (request: { host?: string; path: string; method?: string; headers?: Record<string, string>; body?: string }): Promise<Reply> => {
    const reply = await httpsViaTunnel({ proxyPort: tp.proxy.port, authHeader: tp.authHeader, host: request.host ?? API, port: 443, ca: tp.proxy.caCertPem, path: request.path, method: request.method ?? 'GET', headers: request.headers ?? {}, ...(request.body === undefined ? {} : { body: request.body }) });
    replies.push(reply);
    return reply;
  };
  const lastUpstream = () => up.requests[up.requests.length - 1]!;

  it('injects the configured header into a request to a matching host, over a tunnel it decrypts', async () => {
    const before = up.requests.length;
    const reply = await tunnel({ path: '/upload', method: 'POST', body: 'hello' });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ bytes: 5 });
    expect(up.requests.length).toBe(before + 1);
    expect(lastUpstream().headers.authorization).toBe(`Bearer ${stripe}`);
    const record = tp.audit.records.at(-1)!;
    expect(record).toMatchObject({ method: 'POST', host: API, port: 443, path: '/upload', status: 200, decision: 'injected', bytes_in: 5 });
    expect(record.secrets.sort()).toEqual(['maps', 'stripe']);
  });

  it('sets the query parameter of a query-injected secret and keeps the other parameters as they were', async () => {
    await tunnel({ path: '/upload?a=1&key=mine&b=x%20y' });
    expect(lastUpstream().url).toBe(`/upload?a=1&b=x%20y&key=${encodeURIComponent(mapsKey)}`);
    expect(tp.audit.records.at(-1)!.path).toBe('/upload');
  });

  it('replaces a placeholder the client sends in a header, in the path, and inside HTTP Basic credentials', async () => {
    const placeholder = tp.secrets.get('github')!.placeholder;
    expect(placeholder.startsWith('ghp_')).toBe(true);
    await tunnel({
      host: OTHER,
      path: `/upload?token=${placeholder}`,
      headers: { 'x-copy': `token ${placeholder}`, authorization: `Basic ${Buffer.from(`me:${placeholder}`).toString('base64')}` },
    });
    const seen = lastUpstream();
    expect(seen.url).toBe(`/upload?token=${github}`);
    expect(seen.headers['x-copy']).toBe(`token ${github}`);
    expect(seen.headers['x-github-token']).toBe(github);
    expect(Buffer.from(seen.headers.authorization!.slice(6), 'base64').toString()).toBe(`me:${github}`);
  });

  it('does not inject a secret outside its path globs, even through dot segments', async () => {
    await tunnel({ host: OTHER, path: '/stream?bytes=3' });
    expect(lastUpstream().headers['x-github-token']).toBeUndefined();
    expect(tp.audit.records.at(-1)).toMatchObject({ decision: 'passthrough', secrets: [] });
    await tunnel({ host: OTHER, path: '/upload/../stream?bytes=3' });
    expect(lastUpstream().headers['x-github-token']).toBeUndefined();
  });

  it('refuses a placeholder bound for a host its secret does not match, and it never arrives upstream', async () => {
    const placeholder = tp.secrets.get('github')!.placeholder;
    const before = up.requests.length;
    const reply = await tunnel({ path: '/upload', headers: { 'x-token': placeholder } });
    expect(reply.status).toBe(403);
    expect(reply.body).toContain('secret "github"');
    expect(reply.body).toContain(OTHER);
    expect(up.requests.length).toBe(before);
    expect(tp.audit.records.at(-1)).toMatchObject({ decision: 'blocked', status: 403, secrets: ['github'], host: API });
  });

  it('refuses a request whose Host names another host than the CONNECT target (421) and injects nothing', async () => {
    const before = up.requests.length;
    const reply = await tunnel({ host: OTHER, path: '/upload', headers: { host: API } });
    expect(reply.status).toBe(421);
    expect(up.requests.length).toBe(before);
    expect(tp.audit.records.at(-1)).toMatchObject({ decision: 'blocked', status: 421, host: OTHER });
  });

  it('uses a rotated value from the next request on', async () => {
    const rotated = makeCanary('sk_live_');
    tp.values.set('stripe', rotated);
    try {
      await tunnel({ path: '/upload' });
      expect(lastUpstream().headers.authorization).toBe(`Bearer ${rotated}`);
    } finally {
      tp.values.set('stripe', stripe);
    }
  });

  it('answers 407 with Proxy-Authenticate to a client without the token or with a wrong one', async () => {
    const wrong = `Basic ${Buffer.from(`onecli:${'0'.repeat(64)}`).toString('base64')}`;
    for (const auth of [undefined, wrong, 'Bearer nothing', `Basic ${Buffer.from('onecli:short').toString('base64')}`]) {
      const connect = await connectStatus(tp.proxy.port, `${API}:443`, auth);
      expect(connect.status).toBe(407);
      expect(connect.headers['proxy-authenticate']).toBe('Basic realm="onecli"');
      const plain = await viaProxy(tp.proxy.port, auth, `http://${API}/upload`);
      expect(plain.status).toBe(407);
      expect(plain.headers['proxy-authenticate']).toBe('Basic realm="onecli"');
    }
    expect(tp.audit.records.at(-1)).toMatchObject({ decision: 'denied', status: 407 });
  });

  it('gives plain http:// requests no credential unless the secret allows it, and blocks its placeholder there', async () => {
    const before = up.requests.length;
    const reply = await viaProxy(tp.proxy.port, tp.authHeader, `http://${API}/upload`, { method: 'POST', body: 'abc' });
    replies.push(reply);
    expect(reply.status).toBe(200);
    expect(up.requests.length).toBe(before + 1);
    expect(lastUpstream().scheme).toBe('http');
    expect(lastUpstream().headers.authorization).toBeUndefined();
    expect(tp.audit.records.at(-1)).toMatchObject({ decision: 'passthrough', host: API, port: 80 });

    const blocked = await viaProxy(tp.proxy.port, tp.authHeader, `http://${API}/upload`, { headers: { authorization: `Bearer ${tp.secrets.get('stripe')!.placeholder}` } });
    replies.push(blocked);
    expect(blocked.status).toBe(403);
    expect(blocked.body).toContain('plain http');
    expect(up.requests.length).toBe(before + 1);
  });

  it('connects upstream with TLS for an absolute-form https:// request, as older axios sends it', async () => {
    const reply = await viaProxy(tp.proxy.port, tp.authHeader, `https://${API}/upload`, { method: 'POST', body: 'xyz' });
    replies.push(reply);
    expect(reply.status).toBe(200);
    expect(lastUpstream().scheme).toBe('https');
    expect(lastUpstream().headers.authorization).toBe(`Bearer ${stripe}`);
  });

  it('never forwards Proxy-Authorization or hop-by-hop headers upstream', async () => {
    await viaProxy(tp.proxy.port, tp.authHeader, `https://${API}/upload`, { headers: { connection: 'keep-alive, x-hop', 'x-hop': '1', 'keep-alive': 'timeout=5' } });
    const seen = lastUpstream().headers;
    expect(seen['proxy-authorization']).toBeUndefined();
    expect(seen['x-hop']).toBeUndefined();
    expect(seen['keep-alive']).toBeUndefined();
  });

  it('works for curl with --proxy, trusting only the run CA for the decrypted host', async () => {
    const result = await curl(['--proxy', tp.url, '--cacert', runCaFile, '-X', 'POST', '--data-binary', 'curl-body', `https://${API}/upload`]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ bytes: 9 });
    expect(lastUpstream().headers.authorization).toBe(`Bearer ${stripe}`);
    replies.push({ status: 0, headers: {}, body: result.stdout + result.stderr });
  });

  it('tunnels a host no secret matches blindly, with one passthrough record carrying the byte counts', async () => {
    const before = tp.audit.records.length;
    // 127.0.0.1 matches no secret; the client verifies the upstream's own certificate end to end.
    const reply = await httpsViaTunnel({ proxyPort: tp.proxy.port, authHeader: tp.authHeader, host: '127.0.0.1', port: up.port, ca: up.caPem, path: '/upload', method: 'POST', body: 'blind' });
    replies.push(reply);
    expect(reply.status).toBe(200);
    expect(lastUpstream().headers.authorization).toBeUndefined();
    await until(() => tp.audit.records.length > before);
    const record = tp.audit.records.at(-1)!;
    expect(record).toMatchObject({ method: 'CONNECT', host: '127.0.0.1', port: up.port, decision: 'passthrough', status: 200 });
    expect(record.bytes_in).toBeGreaterThan(100);
    expect(record.bytes_out).toBeGreaterThan(100);
  });

  it('checks plaintext HTTP sent through a tunnel to an unmatched host, so a placeholder cannot slip out there', async () => {
    const socket = await openTunnel(tp.proxy.port, `127.0.0.1:${up.httpPort}`, tp.authHeader);
    const placeholder = tp.secrets.get('stripe')!.placeholder;
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.on('close', () => resolve(text));
      socket.write(`GET /upload HTTP/1.1\r\nHost: 127.0.0.1:${up.httpPort}\r\nAuthorization: Bearer ${placeholder}\r\nConnection: close\r\n\r\n`);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 403 /);
    expect(up.requests.some((request) => JSON.stringify(request).includes(placeholder))).toBe(false);
  });

  it('refuses a TLS client whose SNI names another host than the CONNECT target', async () => {
    const raw = await openTunnel(tp.proxy.port, `${API}:443`, tp.authHeader);
    const failure = await new Promise<Error>((resolve) => {
      const secure = tls.connect({ socket: raw, servername: OTHER, ca: tp.proxy.caCertPem });
      secure.once('secureConnect', () => resolve(new Error('handshake succeeded')));
      secure.once('error', resolve);
    });
    expect(failure.message).not.toBe('handshake succeeded');
    await until(() => tp.audit.records.at(-1)?.status === 421);
    expect(tp.audit.records.at(-1)).toMatchObject({ method: 'CONNECT', decision: 'blocked', host: API });
  });

  it('refuses every request with 503 while the audit log cannot be written, sending nothing upstream', async () => {
    const before = up.requests.length;
    tp.audit.failWith('the disk is full');
    try {
      const reply = await viaProxy(tp.proxy.port, tp.authHeader, `https://${API}/upload`);
      expect(reply.status).toBe(503);
      expect(reply.body).toContain('the disk is full');
      const connect = await connectStatus(tp.proxy.port, `127.0.0.1:${up.port}`, tp.authHeader);
      expect(connect.status).toBe(503);
    } finally {
      tp.audit.failWith(undefined);
    }
    expect(up.requests.length).toBe(before);
  });

  it('writes no value, placeholder or query string into an audit record', () => {
    const audit = JSON.stringify(tp.audit.records);
    for (const secret of tp.secrets.values()) expect(audit).not.toContain(secret.placeholder);
    expect(audit).not.toContain('?');
  });
});

describe('proxy options', () => {
  it('answers 403 and audits "denied" for an unmatched host with denyUnmatched', async () => {
    const tp = await startTestProxy([{ name: 'stripe', value: makeCanary(), hosts: [API] }], { denyUnmatched: true });
    try {
      const reply = await connectStatus(tp.proxy.port, 'example.org:443', tp.authHeader);
      expect(reply.status).toBe(403);
      expect(reply.body).toContain('--deny-unmatched');
      expect(tp.audit.records).toMatchObject([{ method: 'CONNECT', host: 'example.org', port: 443, decision: 'denied', status: 403 }]);
    } finally {
      await tp.close();
    }
  });

  it('answers 502 to an upstream whose certificate nobody trusts, and the upstream sees no request', async () => {
    const untrusted = await startUpstream({ hostnames: [API], untrusted: true });
    const canary = makeCanary();
    const tp = await startTestProxy([{ name: 'stripe', value: canary, hosts: [API] }], {
      resolve: [{ host: API, port: 443, address: '127.0.0.1', targetPort: untrusted.port }],
      extraUpstreamCa: [untrusted.caPem],
    });
    try {
      const reply = await httpsViaTunnel({ proxyPort: tp.proxy.port, authHeader: tp.authHeader, host: API, port: 443, ca: tp.proxy.caCertPem, path: '/upload', method: 'POST', body: 'x' });
      expect(reply.status).toBe(502);
      expect(reply.body).toContain('failed verification');
      expect(untrusted.requests).toEqual([]);
      await until(() => untrusted.tlsFailures > 0);
      expect(tp.audit.records.at(-1)).toMatchObject({ decision: 'error', status: 502, secrets: [] });
      expect(findCanary(canary, { reply: JSON.stringify(reply), audit: JSON.stringify(tp.audit.records) })).toEqual([]);
    } finally {
      await tp.close();
      await untrusted.close();
    }
  });

  it('decrypts every host with inspectAll, audits full paths and blocks a foreign placeholder', async () => {
    const up = await startUpstream({ hostnames: [OTHER] });
    const tp = await startTestProxy([{ name: 'stripe', value: makeCanary(), hosts: [API] }], {
      inspectAll: true,
      resolve: [{ host: OTHER, port: 443, address: '127.0.0.1', targetPort: up.port }],
      extraUpstreamCa: [up.caPem],
    });
    try {
      const request = { proxyPort: tp.proxy.port, authHeader: tp.authHeader, host: OTHER, port: 443, ca: tp.proxy.caCertPem };
      const ok = await httpsViaTunnel({ ...request, path: '/stream?bytes=10' });
      expect(ok.status).toBe(200);
      expect(tp.audit.records.at(-1)).toMatchObject({ decision: 'passthrough', host: OTHER, path: '/stream', status: 200, bytes_out: 10 });
      const blocked = await httpsViaTunnel({ ...request, path: '/upload', headers: { 'x-key': tp.secrets.get('stripe')!.placeholder } });
      expect(blocked.status).toBe(403);
      expect(up.requests.map((r) => r.url)).toEqual(['/stream?bytes=10']);
    } finally {
      await tp.close();
      await up.close();
    }
  });

  it('makes the token useless once closed: new connections fail and open tunnels end', async () => {
    const up = await startUpstream();
    const tp = await startTestProxy([]);
    const open = await openTunnel(tp.proxy.port, `127.0.0.1:${up.port}`, tp.authHeader);
    const ended = new Promise<void>((resolve) => open.once('close', () => resolve()));
    await tp.close();
    await ended;
    const refused = await new Promise<string>((resolve) => {
      const socket = net.connect(tp.proxy.port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (err: Error & { code?: string }) => resolve(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
    await up.close();
  });
});

/** Waits for a condition the proxy reaches asynchronously (e.g. a tunnel's record, written when it closes). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}
