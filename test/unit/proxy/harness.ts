import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { parseHostPattern } from '../../../src/policy/host-pattern.js';
import { parsePathPattern } from '../../../src/policy/path-pattern.js';
import { makePlaceholder } from '../../../src/proxy/placeholder.js';
import { startProxy } from '../../../src/proxy/server.js';
import type { AuditSink, ProxyOptions, ProxySecret, RequestRecord, RunningProxy } from '../../../src/proxy/types.js';
import type { Injection } from '../../../src/vault/secret.js';
import { cleanEnv, type CliResult, runProcess } from '../../support/cli.js';

/** Shared pieces of the proxy tests: a recording audit sink, secrets, a started proxy and real clients. */

export interface MemoryAudit extends AuditSink {
  records: RequestRecord[];
  failWith(problem: string | undefined): void;
}

export function memoryAudit(): MemoryAudit {
  let problem: string | undefined;
  const records: RequestRecord[] = [];
  return {
    records,
    healthy: () => problem === undefined,
    problem: () => problem,
    record: (event) => {
      records.push(event);
    },
    failWith: (next) => {
      problem = next;
    },
  };
}

export interface SecretSpec {
  name: string;
  value: string;
  hosts: string[];
  paths?: string[];
  injection?: Injection;
  allowHttp?: boolean;
}

export function proxySecret(spec: SecretSpec): ProxySecret {
  return {
    name: spec.name,
    hosts: spec.hosts.map(parseHostPattern),
    paths: (spec.paths ?? []).map(parsePathPattern),
    injection: spec.injection ?? { type: 'header', header: 'Authorization', template: 'Bearer {value}' },
    allowHttp: spec.allowHttp ?? false,
    placeholder: makePlaceholder(spec.value),
  };
}

export interface TestProxy {
  proxy: RunningProxy;
  audit: MemoryAudit;
  token: string;
  secrets: Map<string, ProxySecret>;
  values: Map<string, string>;
  /** http://onecli:TOKEN@127.0.0.1:PORT */
  url: string;
  authHeader: string;
  close(): Promise<void>;
}

export async function startTestProxy(specs: SecretSpec[], options: Partial<Omit<ProxyOptions, 'secrets' | 'valueOf' | 'audit'>> = {}): Promise<TestProxy> {
  const audit = memoryAudit();
  const values = new Map(specs.map((spec) => [spec.name, spec.value]));
  const secrets = new Map(specs.map((spec) => [spec.name, proxySecret(spec)]));
  const token = options.token ?? Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex');
  const proxy = await startProxy({
    secrets: [...secrets.values()],
    valueOf: (name) => {
      const value = values.get(name);
      if (value === undefined) throw new Error(`no value for ${name}`);
      return value;
    },
    token,
    resolve: options.resolve ?? [],
    denyUnmatched: options.denyUnmatched ?? false,
    inspectAll: options.inspectAll ?? false,
    extraUpstreamCa: options.extraUpstreamCa ?? [],
    audit,
  });
  return {
    proxy,
    audit,
    token,
    secrets,
    values,
    url: `http://onecli:${token}@127.0.0.1:${proxy.port}`,
    authHeader: `Basic ${Buffer.from(`onecli:${token}`).toString('base64')}`,
    close: () => proxy.close(),
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Opens a CONNECT tunnel; resolves with the raw socket on 200, or rejects with the status line. */
export function openTunnel(proxyPort: number, authority: string, authHeader: string | undefined): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: authority, headers: authHeader === undefined ? {} : { 'proxy-authorization': authHeader } });
    req.once('connect', (res, socket) => {
      if (res.statusCode === 200) resolve(socket);
      else {
        socket.destroy();
        reject(new Error(`CONNECT answered ${res.statusCode}`));
      }
    });
    req.once('response', (res) => {
      res.resume();
      reject(new Error(`CONNECT answered ${res.statusCode}`));
    });
    req.once('error', reject);
    req.end();
  });
}

/** The status a CONNECT gets, and the body of a refusal (read until the proxy closes the connection). */
export function connectStatus(proxyPort: number, authority: string, authHeader: string | undefined): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: authority, headers: authHeader === undefined ? {} : { 'proxy-authorization': authHeader } });
    req.once('connect', (res, socket, head) => {
      const status = res.statusCode ?? 0;
      if (status === 200) {
        socket.destroy();
        resolve({ status, headers: res.headers, body: '' });
        return;
      }
      let body = head.toString('utf8');
      socket.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve({ status, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

export interface TunnelRequest {
  proxyPort: number;
  authHeader: string;
  /** the CONNECT target host and the certificate name checked */
  host: string;
  port: number;
  ca: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A real Node https.request over a CONNECT tunnel this test opened itself. */
export async function httpsViaTunnel(request: TunnelRequest): Promise<Reply> {
  const raw = await openTunnel(request.proxyPort, `${request.host}:${request.port}`, request.authHeader);
  const secure = tls.connect({ socket: raw, host: request.host, servername: net.isIP(request.host) === 0 ? request.host : undefined, ca: request.ca });
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: request.host,
      port: request.port,
      method: request.method ?? 'GET',
      path: request.path,
      headers: request.headers ?? {},
      // No agent: with createConnection alone, Node uses this very socket (agent: false would make a fresh agent).
      createConnection: () => secure,
    });
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        secure.destroy();
        raw.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.once('error', (err) => {
      secure.destroy();
      raw.destroy();
      reject(err);
    });
    req.end(request.body);
  });
}

/** A plain absolute-form request to the proxy (`GET http://host/path`). */
export function viaProxy(proxyPort: number, authHeader: string | undefined, url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const parsed = new URL(url);
    const headers: Record<string, string> = { host: parsed.host, ...(init.headers ?? {}) };
    if (authHeader !== undefined) headers['proxy-authorization'] = authHeader;
    const req = http.request({ host: '127.0.0.1', port: proxyPort, method: init.method ?? 'GET', path: url, headers, agent: false, setHost: false });
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end(init.body);
  });
}

/** curl through the proxy with an environment built from scratch (this machine exports CA variables globally). */
export function curl(args: readonly string[]): Promise<CliResult> {
  return runProcess('curl', ['--silent', '--show-error', '--noproxy', '', ...args], { env: cleanEnv(), timeoutMs: 30_000 });
}

/** Sends raw bytes to a port and collects everything until the server closes the connection. */
export function rawExchange(port: number, bytes: string | Buffer, endAfterWrite = false): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.write(bytes);
    if (endAfterWrite) socket.end();
  });
}
