import type tls from 'node:tls';
import { describeUpstreamError, type ProxyContext, recordDecision, refuseRaw } from './context.js';
import { check, namesOf } from './forward.js';
import { noteRelayed } from './gc-pacer.js';
import { BodyTracker, FramingError, parseRequestHead, parseResponseHead } from './framing.js';
import { type OutgoingHead, responseHeaders } from './inject.js';
import { pathOf } from './rules.js';
import { formatTarget, type Target } from './target.js';
import type { Decision } from './types.js';

/**
 * The fast path for a decrypted tunnel: one upstream TLS connection per client connection (kept in a pool between
 * client connections), request heads parsed, checked and rewritten exactly as the full path does, and bodies passed on
 * as raw bytes both ways — no http.Server, ClientRequest or re-chunking. That is most of the proxy's CPU and memory.
 *
 * It serves only what it understands completely: at a request boundary, anything else (a head outside the plain
 * subset framing.ts accepts, an upgrade, Expect: 100-continue, a request the rules refuse, a head Node could not
 * write) is handed, with every byte not yet used, to the full path (Node's HTTP server, forward.ts), which answers
 * it as it always did. Requests on one connection are served one after another; pipelined ones wait in order.
 */

/** Between requests a client connection may stay idle this long, as the full path's keepAliveTimeout allows. */
const IDLE_TIMEOUT_MS = 30_000;
/** Pipelined bytes held while a response is still going; past this the client is paused (it is sending ahead). */
const HOLD_LIMIT = 64 * 1024;
/** what Node's HTTP writer accepts; a head outside this goes to the full path, which refuses it with its own 502 */
const HEADER_NAME_OK = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE_OK = /^[\t\x20-\x7e\x80-\xff]*$/;
const PATH_OK = /^[\x21-\xff]+$/;

/** The request head for the upstream, or undefined when Node's writer would refuse it. */
function serializeRequest(method: string, head: OutgoingHead): Buffer | undefined {
  if (!PATH_OK.test(head.path)) return undefined;
  let text = `${method} ${head.path} HTTP/1.1\r\n`;
  const { headers } = head;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (!HEADER_NAME_OK.test(name) || !HEADER_VALUE_OK.test(value)) return undefined;
    text += `${name}: ${value}\r\n`;
  }
  return Buffer.from(`${text}\r\n`, 'latin1');
}

function serializeResponse(status: number, reason: string, rawHeaders: readonly string[], close: boolean): Buffer {
  let text = `HTTP/1.1 ${status} ${reason}\r\n`;
  const headers = responseHeaders(rawHeaders);
  for (let i = 0; i + 1 < headers.length; i += 2) text += `${headers[i]!}: ${headers[i + 1]!}\r\n`;
  if (close) text += 'connection: close\r\n';
  return Buffer.from(`${text}\r\n`, 'latin1');
}

function append(held: Buffer | undefined, chunk: Buffer): Buffer {
  return held === undefined || held.length === 0 ? chunk : Buffer.concat([held, chunk]);
}

interface Exchange {
  method: string;
  path: string;
  started: number;
  secrets: string[];
  decision: Decision;
  reason: string | undefined;
  request: BodyTracker;
  response: BodyTracker | undefined;
  status: number;
  /** bytes of a response (head or body) have reached the client */
  answered: boolean;
  responseDone: boolean;
  /** the client connection ends after this exchange (the client asked, or the body is close-delimited) */
  closeAfter: boolean;
  /** the upstream connection may carry another request after this one */
  reusable: boolean;
}

class DecryptedConnection {
  /** client bytes received and not yet used (a partial head, body bytes waiting for the upstream, pipelined requests) */
  private held: Buffer | undefined;
  private up: tls.TLSSocket | undefined;
  private upConnecting = false;
  /** upstream bytes of a response head not yet complete */
  private upHeld: Buffer | undefined;
  private exchange: Exchange | undefined;
  private done = false;
  private waitingUpDrain = false;
  private waitingClientDrain = false;

  constructor(
    private readonly context: ProxyContext,
    private readonly client: tls.TLSSocket,
    private readonly target: Target,
    private readonly fallback: () => void,
  ) {
    client.on('data', this.onClientData);
    client.once('close', this.onClientClose);
    client.once('end', this.onClientEnd);
    client.setTimeout(IDLE_TIMEOUT_MS);
    client.on('timeout', this.onClientTimeout);
  }

  private readonly onClientTimeout = (): void => {
    // only an idle connection times out; a long upload, download or event stream is normal
    if (this.exchange === undefined) this.client.destroy();
  };

  private readonly onClientData = (chunk: Buffer): void => {
    const ex = this.exchange;
    if (ex !== undefined && !ex.request.done && !this.upConnecting && this.held === undefined) {
      this.forwardBody(ex, chunk);
      return;
    }
    this.held = append(this.held, chunk);
    if (ex === undefined) this.nextRequest();
    else if (this.held.length > HOLD_LIMIT) this.client.pause();
  };

  /** The client sent all it will send: between requests (or mid-head, or mid-handshake) that is the end. */
  private readonly onClientEnd = (): void => {
    if (this.exchange === undefined) this.client.destroy();
    else this.exchange.closeAfter = true;
  };

  private readonly onClientClose = (): void => {
    this.done = true;
    const ex = this.exchange;
    if (ex !== undefined) {
      // the client left mid-exchange: the upstream connection is mid-message and cannot be reused
      this.exchange = undefined;
      this.record(ex);
      this.dropUpstream();
    } else {
      this.releaseUpstream();
    }
  };

  /** Takes the next request from what the client sent, if a whole head is there. */
  private nextRequest(): void {
    while (this.exchange === undefined && !this.done && this.held !== undefined) {
      const head = parseRequestHead(this.held);
      if (head.type === 'incomplete') {
        if (this.client.isPaused()) this.client.resume();
        return;
      }
      if (head.type === 'other') {
        this.handOff();
        return;
      }
      const started = performance.now();
      const checked = check(this.context, this.target, head.target, head.host, head.rawHeaders, false);
      // A refusal is the full path's to answer and record, as it always was; so is a head Node could not write.
      const wire = checked.ok ? serializeRequest(head.method, checked.head) : undefined;
      if (!checked.ok || wire === undefined) {
        this.handOff();
        return;
      }
      const secrets = namesOf(checked.verdict);
      const rest = this.held.subarray(head.size);
      this.held = rest.length > 0 ? rest : undefined;
      const ex: Exchange = {
        method: head.method,
        path: pathOf(head.target),
        started,
        secrets,
        decision: secrets.length > 0 ? 'injected' : 'passthrough',
        reason: undefined,
        request: new BodyTracker(head.body),
        response: undefined,
        status: 0,
        answered: false,
        responseDone: false,
        closeAfter: head.close,
        reusable: true,
      };
      this.exchange = ex;
      this.send(ex, wire);
    }
  }

  /** The head (and what body is already here) goes upstream once the connection is verified; never before. */
  private send(ex: Exchange, wire: Buffer): void {
    if (this.up !== undefined && (this.up.destroyed || !this.up.writable || this.up.readableEnded)) this.dropUpstream();
    if (this.up === undefined) {
      const { socket, fresh } = this.context.upstream.tlsConnection(this.target);
      this.up = socket;
      this.upHeld = undefined;
      socket.on('data', this.onUpData);
      socket.on('end', this.onUpEnd);
      socket.on('error', this.onUpError);
      socket.once('close', this.onUpClose);
      if (fresh) {
        this.upConnecting = true;
        // body bytes that arrive meanwhile wait in `held`; a client sending a large body is held back
        socket.once('secureConnect', () => {
          this.upConnecting = false;
          if (this.exchange === ex && !this.done) this.writeRequest(ex, wire);
        });
        return;
      }
    }
    this.writeRequest(ex, wire);
  }

  private writeRequest(ex: Exchange, wire: Buffer): void {
    const up = this.up!;
    const body = this.held;
    if (ex.request.done || body === undefined) {
      up.write(wire);
      return;
    }
    this.held = undefined;
    up.cork();
    up.write(wire);
    this.forwardBody(ex, body);
    up.uncork();
    // a client held back while the connection was being made may send again
    if (this.exchange === ex) this.resumeClient();
  }

  private resumeClient(): void {
    if (this.done || this.waitingUpDrain || !this.client.isPaused()) return;
    if (this.held === undefined || this.held.length <= HOLD_LIMIT) this.client.resume();
  }

  /** Request body bytes to the upstream, as they came; whatever follows the body is kept for the next request. */
  private forwardBody(ex: Exchange, chunk: Buffer): void {
    let end: number;
    try {
      end = ex.request.feed(chunk, 0, this.writeUp);
    } catch (err) {
      if (!(err instanceof FramingError)) throw err;
      this.abort(ex, 400, 'error', 'the request body is not valid chunked encoding');
      return;
    }
    if (end < chunk.length) {
      this.held = append(this.held, chunk.subarray(end));
      if (this.held.length > HOLD_LIMIT) this.client.pause();
    }
    if (ex.request.done && ex.responseDone) this.complete(ex);
  }

  private readonly writeUp = (chunk: Buffer): void => {
    noteRelayed(chunk.length);
    if (this.up!.write(chunk) || this.waitingUpDrain) return;
    this.waitingUpDrain = true;
    this.client.pause();
    this.up!.once('drain', this.onUpDrain);
  };

  private readonly onUpDrain = (): void => {
    this.waitingUpDrain = false;
    this.resumeClient();
  };

  private readonly writeClient = (chunk: Buffer): void => {
    noteRelayed(chunk.length);
    if (this.client.write(chunk) || this.waitingClientDrain) return;
    this.waitingClientDrain = true;
    this.up?.pause();
    this.client.once('drain', this.onClientDrain);
  };

  private readonly onClientDrain = (): void => {
    this.waitingClientDrain = false;
    this.up?.resume();
  };

  private readonly onUpData = (chunk: Buffer): void => {
    const ex = this.exchange;
    if (ex === undefined) {
      // a server talking out of turn: its connection is no longer in step with ours
      this.dropUpstream();
      return;
    }
    if (ex.response !== undefined) {
      this.forwardResponse(ex, chunk, 0);
      return;
    }
    let held = append(this.upHeld, chunk);
    for (;;) {
      const head = parseResponseHead(held, ex.method);
      if (head.type === 'incomplete') {
        this.upHeld = held;
        return;
      }
      if (head.type === 'invalid' || head.status === 101) {
        this.upHeld = undefined;
        this.failUpstream(ex, `the answer of ${formatTarget(this.target)} is not valid HTTP/1.1`);
        return;
      }
      if (head.status < 200) {
        // interim responses (103 Early Hints) go to the client as they are; the final one follows
        ex.answered = true;
        this.client.write(held.subarray(0, head.size));
        held = held.subarray(head.size);
        continue;
      }
      this.upHeld = undefined;
      ex.status = head.status;
      ex.answered = true;
      ex.response = new BodyTracker(head.body);
      if (head.close) ex.reusable = false;
      if (head.body.type === 'close') ex.closeAfter = true;
      const wire = serializeResponse(head.status, head.reason, head.rawHeaders, ex.closeAfter);
      // Head and first body bytes leave in one write (one TLS record for a small answer).
      this.client.cork();
      this.writeClient(wire);
      this.forwardResponse(ex, held, head.size);
      this.client.uncork();
      return;
    }
  };

  private forwardResponse(ex: Exchange, chunk: Buffer, start: number): void {
    const response = ex.response!;
    let end: number;
    try {
      end = response.feed(chunk, start, this.writeClient);
    } catch (err) {
      if (!(err instanceof FramingError)) throw err;
      this.abort(ex, ex.status, 'error', `the answer of ${formatTarget(this.target)} has a broken body`);
      return;
    }
    // bytes past the end of the response were never asked for: the connection is out of step
    if (end < chunk.length) ex.reusable = false;
    if (response.done && !ex.responseDone) {
      ex.responseDone = true;
      if (ex.request.done) this.complete(ex);
    }
  }

  private readonly onUpEnd = (): void => {
    const ex = this.exchange;
    // A close-delimited body ends here; the client was told in the head that its connection ends with it. Whatever
    // of the request body is still coming has nowhere to go.
    if (ex?.response?.untilClose === true && !ex.responseDone) {
      ex.responseDone = true;
      ex.reusable = false;
      this.complete(ex);
    }
  };

  private readonly onUpError = (err: Error): void => {
    const ex = this.exchange;
    if (ex === undefined || ex.answered) return; // 'close' follows and ends the client connection if needed
    this.failUpstream(ex, describeUpstreamError(err, formatTarget(this.target)));
  };

  private readonly onUpClose = (): void => {
    this.up = undefined;
    this.upConnecting = false;
    const ex = this.exchange;
    if (ex === undefined) return; // idle: the next request opens another connection
    if (!ex.answered) {
      this.failUpstream(ex, `the connection to ${formatTarget(this.target)} closed before an answer`);
      return;
    }
    // the upstream went away mid-answer: the client must not take a cut body for a whole one
    this.abort(ex, ex.status, ex.decision, ex.reason);
  };

  /** Nothing reached the client yet: a 502 says why, nothing was injected, and the connection ends. */
  private failUpstream(ex: Exchange, reason: string): void {
    ex.decision = 'error';
    ex.secrets = [];
    ex.reason = reason;
    ex.status = 502;
    this.exchange = undefined;
    this.record(ex);
    this.dropUpstream();
    this.finish();
    refuseRaw(this.client, 502, reason);
  }

  /** Mid-message failure: both connections end, and the one record says what was known. */
  private abort(ex: Exchange, status: number, decision: Decision, reason: string | undefined): void {
    ex.status = status;
    ex.decision = decision;
    ex.reason = reason;
    this.exchange = undefined;
    this.record(ex);
    this.dropUpstream();
    this.finish();
    this.client.destroy();
  }

  private complete(ex: Exchange): void {
    this.exchange = undefined;
    this.record(ex);
    if (!ex.reusable) this.dropUpstream();
    if (ex.closeAfter) {
      this.finish();
      this.releaseUpstream();
      this.client.end();
      return;
    }
    this.nextRequest();
    this.resumeClient();
  }

  private record(ex: Exchange): void {
    recordDecision(this.context, {
      method: ex.method,
      host: this.target.host,
      port: this.target.port,
      path: ex.path,
      status: ex.status,
      decision: ex.decision,
      secrets: ex.secrets,
      bytesIn: ex.request.payload,
      bytesOut: ex.response?.payload ?? 0,
      started: ex.started,
      reason: ex.reason,
    });
  }

  private detachUpstream(up: tls.TLSSocket): void {
    up.off('data', this.onUpData);
    up.off('end', this.onUpEnd);
    up.off('error', this.onUpError);
    up.off('close', this.onUpClose);
    up.off('drain', this.onUpDrain);
    this.waitingUpDrain = false;
    this.up = undefined;
    this.upHeld = undefined;
  }

  private dropUpstream(): void {
    const up = this.up;
    if (up === undefined) return;
    this.detachUpstream(up);
    up.destroy();
  }

  /** Between exchanges only: a verified, idle connection goes back to the pool for the next client connection. */
  private releaseUpstream(): void {
    const up = this.up;
    if (up === undefined) return;
    const connecting = this.upConnecting;
    this.detachUpstream(up);
    if (connecting || up.isPaused()) up.destroy();
    else this.context.upstream.keepIdle(this.target, up);
  }

  /** This handler lets go of the client connection (it ends, or the full path takes it). */
  private finish(): void {
    this.done = true;
    this.client.off('data', this.onClientData);
    this.client.off('close', this.onClientClose);
    this.client.off('end', this.onClientEnd);
    this.client.off('timeout', this.onClientTimeout);
    this.client.off('drain', this.onClientDrain);
    this.client.setTimeout(0);
  }

  /** At a request boundary: the full path takes the connection, starting with every byte not yet used. */
  private handOff(): void {
    this.finish();
    this.releaseUpstream();
    const client = this.client;
    client.pause();
    if (this.held !== undefined) client.unshift(this.held);
    this.held = undefined;
    // Node's HTTP server would otherwise read the TLS handle natively, past the bytes just put back in the stream;
    // marked as consumed, it reads through the stream, in order.
    const handle = (client as unknown as { _handle?: { _consumed?: boolean } | null })._handle;
    if (handle !== undefined && handle !== null) handle._consumed = true;
    this.fallback();
  }
}

/** Serves a decrypted client connection to target, handing it to `fallback` (the full path) for what it does not serve. */
export function serveDecrypted(context: ProxyContext, client: tls.TLSSocket, target: Target, fallback: () => void): void {
  new DecryptedConnection(context, client, target, fallback);
}
