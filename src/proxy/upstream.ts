import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { OutgoingHead } from './inject.js';
import type { Target } from './target.js';
import type { ResolveRule } from './types.js';

/**
 * Connections from the proxy to real servers: pooled keep-alive agents for requests, raw sockets for blind tunnels,
 * `--resolve` routing for both. Upstream TLS is verified against the system roots plus onecli's own extra CAs.
 */

/**
 * An https.Agent that hands a connection to the request only after the TLS handshake and the certificate check have
 * both succeeded. Node would otherwise let request bytes queue on a socket whose peer is not yet verified; waiting
 * for 'secureConnect' (which a failed check never emits) guarantees no header — and so no credential — is written
 * to a server that failed verification.
 */
class VerifiedAgent extends https.Agent {
  override createConnection(options: https.RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const socket = super.createConnection(options) as tls.TLSSocket;
    socket.setNoDelay(true);
    const onError = (err: Error): void => {
      socket.off('secureConnect', onSecure);
      socket.destroy();
      callback?.(err, socket);
    };
    const onSecure = (): void => {
      socket.off('error', onError);
      callback?.(null, socket);
    };
    socket.once('error', onError);
    socket.once('secureConnect', onSecure);
    return undefined;
  }
}

class NoDelayAgent extends http.Agent {
  override createConnection(options: http.ClientRequestArgs): Duplex {
    return net.connect({ host: options.host ?? 'localhost', port: Number(options.port), noDelay: true });
  }
}

const AGENT_OPTIONS = {
  keepAlive: true,
  keepAliveMsecs: 1000,
  maxSockets: Infinity,
  // Enough idle connections to serve 256 concurrent keep-alive clients without reconnecting.
  maxFreeSockets: 256,
  // LIFO reuses the warmest connection and lets idle ones age out.
  scheduling: 'lifo' as const,
  // Idle pooled connections are dropped after this; servers usually close theirs sooner anyway.
  timeout: 30_000,
};

interface IdleConnection {
  socket: tls.TLSSocket;
  /** takes it out of the pool's watch: the pool's listeners and timeout are removed */
  release(): void;
}

export interface Route {
  address: string;
  port: number;
}

export class Upstream {
  private readonly rules: ReadonlyMap<string, Route>;
  private readonly httpsAgent: VerifiedAgent;
  private readonly httpAgent: NoDelayAgent;
  private readonly sockets = new Set<net.Socket>();
  private readonly secureContext: tls.SecureContext;
  /** idle verified TLS connections of the decrypted fast path, per host:port, newest last */
  private readonly idle = new Map<string, IdleConnection[]>();

  constructor(resolve: readonly ResolveRule[], extraCa: readonly string[]) {
    this.rules = new Map(resolve.map((rule) => [`${rule.host.toLowerCase()}:${rule.port}`, { address: rule.address, port: rule.targetPort }]));
    // One secure context for every upstream connection: building it parses ~150 root certificates, and passing `ca`
    // per request would also make the agent hash the whole bundle into every pool key.
    const secureContext = tls.createSecureContext({ ca: [...tls.rootCertificates, ...extraCa], minVersion: 'TLSv1.2' });
    this.secureContext = secureContext;
    this.httpsAgent = new VerifiedAgent({ ...AGENT_OPTIONS, secureContext, rejectUnauthorized: true, minVersion: 'TLSv1.2' });
    this.httpAgent = new NoDelayAgent(AGENT_OPTIONS);
  }

  /** Where connections for host:port go: a `--resolve` rule's address and port, else the host itself. */
  route(host: string, port: number): Route {
    return this.rules.get(`${host}:${port}`) ?? { address: host, port };
  }

  /**
   * A request to target (host name checked on the certificate and sent as SNI, even when `--resolve` sends the
   * connection elsewhere). Headers go exactly as given (a flat raw list); the caller streams the body.
   */
  request(target: Target, method: string, head: OutgoingHead): http.ClientRequest {
    const route = this.route(target.host, target.port);
    if (target.scheme === 'http') {
      return http.request({ agent: this.httpAgent, host: route.address, port: route.port, method, path: head.path, headers: head.headers, setHost: false });
    }
    const ip = net.isIP(target.host) !== 0;
    return https.request({
      agent: this.httpsAgent,
      host: route.address,
      port: route.port,
      method,
      path: head.path,
      headers: head.headers,
      setHost: false,
      // Node refuses an IP address as SNI; '' keeps it from deriving one from the address.
      servername: ip ? '' : target.host,
      checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(target.host, cert),
    });
  }

  /** A raw TCP connection for a blind tunnel. */
  connect(host: string, port: number): net.Socket {
    const route = this.route(host, port);
    const socket = net.connect({ host: route.address, port: route.port, noDelay: true });
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  }

  /**
   * A TLS connection to target for the decrypted fast path: an idle one kept from an earlier client connection, else a
   * new one. The caller must write nothing before 'secureConnect' (a new socket's `connecting` is true until then):
   * a failed certificate check emits only 'error', so no request byte — and no credential — reaches an unverified peer.
   */
  tlsConnection(target: Target): { socket: tls.TLSSocket; fresh: boolean } {
    const key = `${target.host}:${target.port}`;
    const list = this.idle.get(key);
    const kept = list?.pop();
    if (kept !== undefined) {
      if (list!.length === 0) this.idle.delete(key);
      kept.release();
      return { socket: kept.socket, fresh: false };
    }
    const route = this.route(target.host, target.port);
    const socket = tls.connect({
      host: route.address,
      port: route.port,
      secureContext: this.secureContext,
      rejectUnauthorized: true,
      // Node refuses an IP address as SNI; none is sent for one.
      ...(net.isIP(target.host) === 0 ? { servername: target.host } : {}),
      checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(target.host, cert),
    });
    socket.setNoDelay(true);
    // Whoever holds the connection listens for errors too; this one only keeps an idle one from crashing the run.
    socket.on('error', () => undefined);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return { socket, fresh: true };
  }

  /**
   * Keeps a verified connection that just finished a response cleanly, for the next client connection to target. The
   * caller has removed its own listeners.
   */
  keepIdle(target: Target, socket: tls.TLSSocket): void {
    if (socket.destroyed || !socket.writable || socket.readableEnded || this.closed) {
      socket.destroy();
      return;
    }
    const key = `${target.host}:${target.port}`;
    let list = this.idle.get(key);
    if (list === undefined) this.idle.set(key, (list = []));
    if (list.length >= AGENT_OPTIONS.maxFreeSockets) {
      socket.destroy();
      return;
    }
    const owned = list;
    // An idle connection that the server closes, talks on out of turn, or that ages out leaves the pool.
    const drop = (): void => {
      const at = owned.indexOf(entry);
      if (at >= 0) owned.splice(at, 1);
      if (owned.length === 0 && this.idle.get(key) === owned) this.idle.delete(key);
      socket.destroy();
    };
    const entry: IdleConnection = {
      socket,
      release: () => {
        socket.off('close', drop);
        socket.off('end', drop);
        socket.off('data', drop);
        socket.off('timeout', drop);
        socket.setTimeout(0);
      },
    };
    socket.once('close', drop);
    socket.once('end', drop);
    socket.once('data', drop);
    socket.setTimeout(AGENT_OPTIONS.timeout);
    socket.once('timeout', drop);
    socket.resume();
    owned.push(entry);
  }

  private closed = false;

  destroy(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const entry of list) entry.socket.destroy();
    this.idle.clear();
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
    for (const socket of this.sockets) socket.destroy();
  }
}
