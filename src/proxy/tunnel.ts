import type http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { normalizeHost } from '../policy/host-pattern.js';
import { auditProblem, describeUpstreamError, type ProxyContext, recordDecision, refuseRaw } from './context.js';
import { serveDecrypted } from './decrypted.js';
import { relayBothWays } from './gc-pacer.js';
import { formatTarget, parseAuthority, type Target } from './target.js';

/**
 * CONNECT: decrypt where a secret may be injected (or everywhere with --inspect-all), refuse with --deny-unmatched,
 * otherwise tunnel blindly. The decision uses the CONNECT target, which is where the proxy really connects.
 */

const ESTABLISHED = 'HTTP/1.1 200 Connection established\r\n\r\n';
const TLS_HANDSHAKE = 0x16;
/** A plaintext HTTP request line; the Node preload tunnels plain http:// through CONNECT as well. */
const HTTP_REQUEST_LINE = /^(?:GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS|TRACE) /;

/** Hands a connection to the inner HTTP server, which serves it as a stream of requests to `target`. */
function serveInner(context: ProxyContext, socket: Duplex, target: Target): void {
  context.tunnels.set(socket, target);
  context.inner.emit('connection', socket);
  // A socket paused while its first bytes were peeked at must flow again; the HTTP server does not resume it.
  if (socket.isPaused()) socket.resume();
}

/** Calls back with the client's first bytes, left in place for whoever reads the socket next. */
function peekFirst(socket: net.Socket, head: Buffer, then: (first: Buffer | undefined) => void): void {
  if (head.length > 0) {
    socket.unshift(head);
    then(head);
    return;
  }
  const onData = (chunk: Buffer): void => {
    done();
    socket.pause();
    socket.unshift(chunk);
    then(chunk);
  };
  const onGone = (): void => {
    done();
    then(undefined);
  };
  const done = (): void => {
    socket.off('data', onData);
    socket.off('end', onGone);
    socket.off('close', onGone);
  };
  socket.on('data', onData);
  socket.once('end', onGone);
  socket.once('close', onGone);
}

function terminateTls(context: ProxyContext, socket: net.Socket, target: Target, started: number): void {
  const base = { method: 'CONNECT', host: target.host, port: target.port, path: '', started };
  context.ca.contextFor(target.host).then(
    (secureContext) => {
      if (socket.destroyed) return;
      let sniRefused: string | undefined;
      const tlsSocket = new tls.TLSSocket(socket, {
        isServer: true,
        secureContext,
        ALPNProtocols: ['http/1.1'],
        // The leaf is for the CONNECT host; a client naming another host in SNI is refused, not served a mismatch.
        SNICallback: (servername, callback) => {
          if (normalizeHost(servername) === target.host) {
            callback(null, secureContext);
            return;
          }
          sniRefused = `the TLS server name ${JSON.stringify(servername)} differs from the CONNECT target ${formatTarget(target)}`;
          callback(new Error('server name differs from the CONNECT target'), undefined);
        },
      });
      context.track(tlsSocket);
      let secure = false;
      tlsSocket.once('secure', () => {
        secure = true;
      });
      tlsSocket.on('error', (err: Error & { code?: string }) => {
        if (secure) return;
        secure = true; // one record per failed handshake
        if (sniRefused !== undefined) {
          recordDecision(context, { ...base, status: 421, decision: 'blocked', reason: sniRefused });
          return;
        }
        const why = err.code ?? 'handshake failed';
        recordDecision(context, { ...base, status: 0, decision: 'error', reason: `TLS with the client failed (${why}); does it trust the run's CA?` });
      });
      // The lean path serves what it fully understands and hands the rest, at a request boundary, to the HTTP server.
      serveDecrypted(context, tlsSocket, target, () => serveInner(context, tlsSocket, target));
    },
    () => {
      socket.destroy();
      recordDecision(context, { ...base, status: 0, decision: 'error', reason: `no certificate could be made for ${target.host}` });
    },
  );
}

/** Bytes both ways, untouched; one audit event when the tunnel closes. Plain HTTP inside is inspected instead. */
function blindTunnel(context: ProxyContext, socket: net.Socket, head: Buffer, host: string, port: number, started: number): void {
  const base = { method: 'CONNECT', host, port, path: '', started };
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const upstream = context.upstream.connect(host, port);
  let connected = false;
  let handedOver = false;
  let bytesIn = 0;
  let bytesOut = 0;

  const onEarlyClose = (): void => {
    upstream.destroy();
  };
  socket.once('close', onEarlyClose);
  upstream.on('error', (err) => {
    if (connected) return;
    socket.off('close', onEarlyClose);
    const reason = describeUpstreamError(err, where);
    refuseRaw(socket, 502, reason);
    recordDecision(context, { ...base, status: 502, decision: 'error', reason });
  });

  upstream.once('connect', () => {
    connected = true;
    socket.off('close', onEarlyClose);
    socket.once('close', () => {
      upstream.destroy();
      if (!handedOver) recordDecision(context, { ...base, status: 200, decision: 'passthrough', bytesIn, bytesOut });
    });
    // The upstream is gone both ways, so nothing the client still sends can be delivered: flush what came, then close.
    const onUpstreamClose = (hadError: boolean): void => {
      if (hadError) socket.destroy();
      else socket.end(() => socket.destroy());
    };
    upstream.once('close', onUpstreamClose);
    socket.write(ESTABLISHED);

    // Whoever speaks first decides: a server that talks first (SSH, SMTP) or a TLS ClientHello means a blind pipe;
    // a plaintext HTTP request is served like any plain http:// request, so its placeholders are checked too.
    let settled = false;
    const settle = (from: 'client' | 'upstream', chunk: Buffer | undefined): void => {
      if (settled) return;
      settled = true;
      socket.off('data', fromClient);
      upstream.off('data', fromUpstream);
      if (from === 'client' && chunk !== undefined && chunk[0] !== TLS_HANDSHAKE && HTTP_REQUEST_LINE.test(chunk.subarray(0, 8).toString('latin1'))) {
        handedOver = true;
        upstream.off('close', onUpstreamClose);
        upstream.destroy();
        socket.pause();
        socket.unshift(chunk);
        serveInner(context, socket, { scheme: 'http', host, port });
        return;
      }
      if (chunk !== undefined) {
        if (from === 'client') {
          bytesIn += chunk.length;
          upstream.write(chunk);
        } else {
          bytesOut += chunk.length;
          socket.write(chunk);
        }
      }
      relayBothWays(socket, upstream, (side, bytes) => {
        if (side === 'client') bytesIn += bytes;
        else bytesOut += bytes;
      });
    };
    const fromClient = (chunk: Buffer): void => settle('client', chunk);
    const fromUpstream = (chunk: Buffer): void => settle('upstream', chunk);
    if (head.length > 0) {
      settle('client', head);
      return;
    }
    socket.on('data', fromClient);
    upstream.on('data', fromUpstream);
  });
}

export function handleConnect(context: ProxyContext, req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
  const started = performance.now();
  const authority = parseAuthority(req.url ?? '', undefined);
  if (authority === undefined) {
    refuseRaw(socket, 400, 'CONNECT needs a target of the form host:port');
    return;
  }
  const { host, port } = authority;
  const base = { method: 'CONNECT', host, port, path: '', started };
  const problem = auditProblem(context);
  if (problem !== undefined) {
    refuseRaw(socket, 503, problem);
    return;
  }
  if (context.options.inspectAll || context.rules.intercepts(host)) {
    // Start making the leaf now; the client's ClientHello is on its way.
    context.ca.leafFor(host).catch(() => undefined);
    socket.write(ESTABLISHED);
    peekFirst(socket, head, (first) => {
      if (first === undefined) socket.destroy();
      else if (first[0] === TLS_HANDSHAKE) terminateTls(context, socket, { scheme: 'https', host, port }, started);
      else serveInner(context, socket, { scheme: 'http', host, port });
    });
    return;
  }
  if (context.options.denyUnmatched) {
    const reason = `no secret is bound to ${host} and this run refuses other hosts (--deny-unmatched)`;
    refuseRaw(socket, 403, reason);
    recordDecision(context, { ...base, status: 403, decision: 'denied', reason });
    return;
  }
  blindTunnel(context, socket, head, host, port, started);
}
