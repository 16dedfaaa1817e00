import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { createRunCa } from './ca.js';
import { type ProxyContext, recordDecision, refuse, refuseRaw } from './context.js';
import { forwardRequest, forwardUpgrade } from './forward.js';
import { Rules } from './rules.js';
import { parseAbsoluteForm, type Target } from './target.js';
import { handleConnect } from './tunnel.js';
import type { ProxyOptions, RunningProxy } from './types.js';
import { Upstream } from './upstream.js';

/**
 * The per-run proxy: one loopback listener that takes CONNECT and absolute-form requests from clients holding the
 * run's token, and one inner HTTP server (never listening) that serves what arrives inside intercepted tunnels.
 */

const REALM = { 'proxy-authenticate': 'Basic realm="onecli"' };
const AUTH = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i;

const SERVER_OPTIONS: http.ServerOptions = {
  // Agents keep tunnels and connections open between calls; five seconds (Node's default) would close them too often.
  keepAliveTimeout: 30_000,
  headersTimeout: 60_000,
  // A long upload or download is normal for an agent; only the headers are timed.
  requestTimeout: 0,
  noDelay: true,
  // Lenient parsing would let request smuggling through; malformed requests get 400.
  insecureHTTPParser: false,
};

/** Constant-time check of `Proxy-Authorization: Basic base64("onecli:" + token)`. */
function makeAuthCheck(token: string, isClosed: () => boolean): (header: string | undefined) => boolean {
  const expected = Buffer.from(`onecli:${token}`, 'utf8');
  return (header) => {
    if (isClosed() || header === undefined) return false;
    const match = AUTH.exec(header);
    if (match === null) return false;
    const given = Buffer.from(match[1]!, 'base64');
    // Comparing only equal lengths leaks the length, which is public (64 hex characters); never the content.
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
}

function authReason(header: string | undefined): string {
  return header === undefined ? 'this proxy needs the run\'s token (Proxy-Authorization)' : 'the proxy token is wrong or the run has ended';
}

/** 400 for what the HTTP parser refused; never crashes, never touches other connections. */
function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable || err.code?.startsWith('ERR_SSL') === true || 'library' in err) {
    socket.destroy();
    return;
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') refuseRaw(socket, 431, 'the request headers are too large');
  else refuseRaw(socket, 400, 'the request is not valid HTTP/1.1');
}

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const ca = await createRunCa();
  const sockets = new Set<Duplex>();
  const outer = http.createServer(SERVER_OPTIONS);
  const inner = http.createServer(SERVER_OPTIONS);
  const context: ProxyContext = {
    options,
    rules: new Rules(options.secrets),
    upstream: new Upstream(options.resolve, options.extraUpstreamCa),
    ca,
    inner,
    tunnels: new WeakMap(),
    closed: false,
    track(socket) {
      if (sockets.has(socket)) return;
      sockets.add(socket);
      // Every socket gets an error handler: a reset client must never become an uncaught exception.
      socket.on('error', () => undefined);
      socket.once('close', () => sockets.delete(socket));
    },
  };
  const authorized = makeAuthCheck(options.token, () => context.closed);

  outer.on('connection', (socket: net.Socket) => context.track(socket));
  outer.on('clientError', onClientError);
  inner.on('clientError', onClientError);

  // Requests to the proxy itself: absolute-form only (`GET http://host/…`, or `https://…` as older axios sends).
  const onOuterRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const started = performance.now();
    const header = req.headers['proxy-authorization'];
    const absolute = parseAbsoluteForm(req.url ?? '');
    if (!authorized(header)) {
      const reason = authReason(header);
      refuse(res, 407, reason, REALM);
      recordDecision(context, { method: req.method ?? '', host: absolute?.target.host ?? '', port: absolute?.target.port ?? 0, path: '', status: 407, decision: 'denied', reason, started });
      return;
    }
    if (absolute === undefined) {
      refuse(res, 400, 'this is a proxy: send absolute-form requests (GET http://host/path) or CONNECT host:port');
      return;
    }
    forwardRequest(context, absolute.target, absolute.path, req, res);
  };
  outer.on('request', onOuterRequest);
  outer.on('checkContinue', onOuterRequest);

  outer.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const header = req.headers['proxy-authorization'];
    if (!authorized(header)) {
      const reason = authReason(header);
      const target = /^([^:]*):(\d+)$/.exec(req.url ?? '');
      refuseRaw(socket, 407, reason, REALM);
      recordDecision(context, { method: 'CONNECT', host: target?.[1] ?? '', port: Number(target?.[2] ?? 0), path: '', status: 407, decision: 'denied', reason, started: performance.now() });
      return;
    }
    handleConnect(context, req, socket, head);
  });

  outer.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const header = req.headers['proxy-authorization'];
    const absolute = parseAbsoluteForm(req.url ?? '');
    if (!authorized(header)) {
      const reason = authReason(header);
      refuseRaw(socket, 407, reason, REALM);
      recordDecision(context, { method: req.method ?? '', host: absolute?.target.host ?? '', port: absolute?.target.port ?? 0, path: '', status: 407, decision: 'denied', reason, started: performance.now() });
      return;
    }
    if (absolute === undefined) {
      refuseRaw(socket, 400, 'this is a proxy: send absolute-form requests or CONNECT host:port');
      return;
    }
    forwardUpgrade(context, absolute.target, absolute.path, req, socket, head);
  });

  // Inside a tunnel: the tunnel was authorized when it was opened; the destination is its CONNECT target.
  // Absolute-form inside a tunnel is served only when it names the tunnel's own host; anything else is a 421.
  const inTunnel = (req: http.IncomingMessage): { target: Target; path: string } | { target: Target; misdirected: string } | undefined => {
    const target = context.tunnels.get(req.socket);
    if (target === undefined) return undefined;
    const url = req.url ?? '/';
    if (url.startsWith('/') || url === '*') return { target, path: url };
    const absolute = parseAbsoluteForm(url);
    if (absolute !== undefined && absolute.target.host === target.host) return { target, path: absolute.path };
    return { target, misdirected: `the request line names another host than this tunnel's (${target.host}); nothing was injected` };
  };
  const misdirected = (req: http.IncomingMessage, target: Target, reason: string): void => {
    recordDecision(context, { method: req.method ?? '', host: target.host, port: target.port, path: '', status: 421, decision: 'blocked', reason, started: performance.now() });
  };
  const onInnerRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const found = inTunnel(req);
    if (found === undefined) {
      res.destroy();
    } else if ('misdirected' in found) {
      refuse(res, 421, found.misdirected);
      misdirected(req, found.target, found.misdirected);
    } else {
      forwardRequest(context, found.target, found.path, req, res);
    }
  };
  inner.on('request', onInnerRequest);
  inner.on('checkContinue', onInnerRequest);
  inner.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const found = inTunnel(req);
    if (found === undefined) {
      socket.destroy();
    } else if ('misdirected' in found) {
      refuseRaw(socket, 421, found.misdirected);
      misdirected(req, found.target, found.misdirected);
    } else {
      forwardUpgrade(context, found.target, found.path, req, socket, head);
    }
  });

  await new Promise<void>((resolve, reject) => {
    outer.once('error', reject);
    outer.listen(0, '127.0.0.1', () => {
      outer.off('error', reject);
      resolve();
    });
  });
  // After listening, a server error (none is expected on a bound loopback socket) must not crash the run.
  outer.on('error', () => undefined);
  const port = (outer.address() as net.AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    port,
    caCertPem: ca.certPem,
    close() {
      closing ??= new Promise<void>((resolve) => {
        // The token dies first: anything still being parsed is refused from here on.
        context.closed = true;
        outer.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        context.upstream.destroy();
      });
      return closing;
    },
  };
}
