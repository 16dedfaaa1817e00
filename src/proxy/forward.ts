import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { auditProblem, describeUpstreamError, type ProxyContext, recordDecision, refuse, refuseRaw } from './context.js';
import { buildOutgoingHead, InjectionError, type OutgoingHead, responseHeaders } from './inject.js';
import { pathOf, type Verdict } from './rules.js';
import { noteRelayed, relayBothWays } from './gc-pacer.js';
import { formatTarget, hostAgrees, type Target } from './target.js';
import type { Decision } from './types.js';

/**
 * One HTTP exchange through the proxy, whatever the way in (absolute-form, decrypted tunnel, plaintext tunnel):
 * check, decide, inject, stream both ways without buffering, and write exactly one audit event when it ends.
 */

export type Checked =
  | { ok: true; verdict: Extract<Verdict, { type: 'forward' }>; head: OutgoingHead }
  | { ok: false; status: number; decision: Decision; reason: string; secrets: string[] };

/** Everything decided before a byte goes upstream, from the request's Host header and raw header list. */
export function check(context: ProxyContext, target: Target, path: string, hostHeader: string | undefined, rawHeaders: readonly string[], upgrade: boolean): Checked {
  const problem = auditProblem(context);
  if (problem !== undefined) return { ok: false, status: 503, decision: 'error', reason: problem, secrets: [] };
  if (!hostAgrees(target, hostHeader)) {
    const named = hostHeader === undefined ? 'no Host header' : `Host ${JSON.stringify(hostHeader)}`;
    return { ok: false, status: 421, decision: 'blocked', reason: `the request names ${named} but goes to ${formatTarget(target)}; nothing was injected`, secrets: [] };
  }
  const verdict = context.rules.check(target, path, rawHeaders);
  if (verdict.type === 'refuse') return { ok: false, status: verdict.status, decision: 'blocked', reason: verdict.reason, secrets: verdict.secrets };
  try {
    const head = buildOutgoingHead(path, rawHeaders, verdict.inject, (name) => context.options.valueOf(name), upgrade);
    return { ok: true, verdict, head };
  } catch (err) {
    const reason = err instanceof InjectionError ? err.message : 'a secret could not be injected';
    return { ok: false, status: 502, decision: 'error', reason, secrets: [] };
  }
}

export function namesOf(verdict: Extract<Verdict, { type: 'forward' }>): string[] {
  return verdict.inject.map((secret) => secret.name);
}

/**
 * The common start of an exchange arriving through Node's HTTP server: check it, and on a refusal answer through
 * `refuseWith` and write its audit event. Undefined when refused.
 */
function admit(
  context: ProxyContext,
  target: Target,
  path: string,
  req: http.IncomingMessage,
  upgrade: boolean,
  refuseWith: (status: number, reason: string) => void,
): { base: { method: string; host: string; port: number; path: string; started: number }; method: string; checked: Extract<Checked, { ok: true }> } | undefined {
  const started = performance.now();
  const method = req.method ?? 'GET';
  const base = { method, host: target.host, port: target.port, path: pathOf(path), started };
  const checked = check(context, target, path, req.headers.host, req.rawHeaders, upgrade);
  if (!checked.ok) {
    refuseWith(checked.status, checked.reason);
    recordDecision(context, { ...base, status: checked.status, decision: checked.decision, secrets: checked.secrets, reason: checked.reason });
    return undefined;
  }
  return { base, method, checked };
}

/** Forwards one request; `path` is the origin-form target as the client sent it. */
export function forwardRequest(context: ProxyContext, target: Target, path: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  const admitted = admit(context, target, path, req, false, (status, reason) => refuse(res, status, reason));
  if (admitted === undefined) return;
  const { base, method, checked } = admitted;
  const secrets = namesOf(checked.verdict);
  let decision: Decision = secrets.length > 0 ? 'injected' : 'passthrough';
  let reason: string | undefined;
  let bytesIn = 0;
  let bytesOut = 0;
  let recorded = false;
  const finish = (): void => {
    if (recorded) return;
    recorded = true;
    recordDecision(context, { ...base, status: res.statusCode, decision, secrets, bytesIn, bytesOut, reason });
  };

  let upReq: http.ClientRequest;
  try {
    upReq = context.upstream.request(target, method, checked.head);
  } catch {
    // Node refuses a path or header it cannot write (a value with a space in a path, say): nothing was sent.
    decision = 'error';
    reason = `the request to ${formatTarget(target)} could not be written as HTTP`;
    refuse(res, 502, reason);
    finish();
    return;
  }

  res.once('close', () => {
    if (!res.writableFinished) upReq.destroy();
    finish();
  });
  req.on('data', (chunk: Buffer) => {
    bytesIn += chunk.length;
    noteRelayed(chunk.length);
  });
  req.once('error', () => upReq.destroy());
  req.pipe(upReq);

  // Expect: 100-continue travels upstream; the client hears "continue" when the upstream says it.
  upReq.once('continue', () => res.writeContinue());
  upReq.once('error', (err) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    decision = 'error';
    secrets.length = 0;
    reason = describeUpstreamError(err, formatTarget(target));
    refuse(res, 502, reason);
  });
  upReq.once('response', (upRes) => {
    res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, responseHeaders(upRes.rawHeaders));
    // Headers go now, not with the first body chunk: event streams and long polls must see them at once.
    if (upRes.headers['content-length'] === undefined) res.flushHeaders();
    upRes.on('data', (chunk: Buffer) => {
      bytesOut += chunk.length;
      noteRelayed(chunk.length);
    });
    upRes.once('error', () => res.destroy());
    upRes.pipe(res);
  });
}

function rawHead(status: number, message: string, rawHeaders: readonly string[], close: boolean): string {
  let head = `HTTP/1.1 ${status} ${message}\r\n`;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (close && rawHeaders[i]!.toLowerCase() === 'transfer-encoding') continue;
    head += `${rawHeaders[i]!}: ${rawHeaders[i + 1]!}\r\n`;
  }
  return `${head}${close ? 'connection: close\r\n' : ''}\r\n`;
}

/**
 * An upgrade request (WebSocket): injected like any request, then the two raw sockets are piped both ways. Other
 * upgrades (h2c) are forwarded as plain requests without the upgrade, so no traffic escapes inspection.
 */
export function forwardUpgrade(context: ProxyContext, target: Target, path: string, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  const websocket = (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
  const admitted = admit(context, target, path, req, websocket, (status, reason) => refuseRaw(socket, status, reason));
  if (admitted === undefined) return;
  const { base, method, checked } = admitted;
  const secrets = namesOf(checked.verdict);
  let decision: Decision = secrets.length > 0 ? 'injected' : 'passthrough';
  let status = 0;
  let reason: string | undefined;
  let bytesIn = 0;
  let bytesOut = 0;
  let recorded = false;
  const finish = (): void => {
    if (recorded) return;
    recorded = true;
    recordDecision(context, { ...base, status, decision, secrets, bytesIn, bytesOut, reason });
  };
  socket.once('close', finish);

  let upReq: http.ClientRequest;
  try {
    upReq = context.upstream.request(target, method, checked.head);
  } catch {
    decision = 'error';
    status = 502;
    reason = `the request to ${formatTarget(target)} could not be written as HTTP`;
    refuseRaw(socket, 502, reason);
    return;
  }
  socket.once('close', () => upReq.destroy());
  upReq.once('error', (err) => {
    decision = 'error';
    status = 502;
    secrets.length = 0;
    reason = describeUpstreamError(err, formatTarget(target));
    refuseRaw(socket, 502, reason);
  });
  // Bytes after an upgrade request's head belong to the new protocol; a declined upgrade gets them as its body.
  if (websocket) upReq.end();
  else upReq.end(head);

  upReq.once('upgrade', (upRes, upSocket, upHead) => {
    status = upRes.statusCode ?? 101;
    upSocket.on('error', () => socket.destroy());
    socket.write(rawHead(status, upRes.statusMessage ?? 'Switching Protocols', upRes.rawHeaders, false));
    if (upHead.length > 0) {
      bytesOut += upHead.length;
      socket.write(upHead);
    }
    if (websocket && head.length > 0) {
      bytesIn += head.length;
      upSocket.write(head);
    }
    relayBothWays(socket, upSocket, (from, bytes) => {
      if (from === 'client') bytesIn += bytes;
      else bytesOut += bytes;
    });
    socket.once('close', () => upSocket.destroy());
    upSocket.once('close', () => socket.end());
  });
  upReq.once('response', (upRes) => {
    // The upstream declined the upgrade: relay its answer, then close (the connection cannot go on as HTTP here).
    status = upRes.statusCode ?? 502;
    socket.write(rawHead(status, upRes.statusMessage ?? '', responseHeaders(upRes.rawHeaders), true));
    upRes.on('data', (chunk: Buffer) => {
      bytesOut += chunk.length;
      noteRelayed(chunk.length);
    });
    upRes.once('error', () => socket.destroy());
    upRes.pipe(socket);
  });
}
