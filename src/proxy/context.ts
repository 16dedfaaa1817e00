import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { RunCa } from './ca.js';
import type { Rules } from './rules.js';
import type { Target } from './target.js';
import type { Upstream } from './upstream.js';
import type { ProxyOptions, RequestRecord } from './types.js';

/** What every handler of one running proxy shares. */
export interface ProxyContext {
  options: ProxyOptions;
  rules: Rules;
  upstream: Upstream;
  ca: RunCa;
  /** the decrypted (or plaintext-in-tunnel) connections' own HTTP server; never listens */
  inner: http.Server;
  /** where each connection handed to `inner` really goes: its CONNECT target */
  tunnels: WeakMap<Duplex, Target>;
  /** every socket the proxy holds, so close() can end them all */
  track(socket: Duplex): void;
  closed: boolean;
}

/** What a decision point knows; recordDecision turns it into the RequestRecord (durations, snake_case, defaults). */
export type RecordFields = Pick<RequestRecord, 'method' | 'host' | 'port' | 'path' | 'status' | 'decision'> & {
  secrets?: string[];
  bytesIn?: number;
  bytesOut?: number;
  started: number;
  reason?: string | undefined;
};

/**
 * Writes the one audit event of a decision. A failing sink must not take the proxy down mid-stream: its error is
 * swallowed here, and the sink's healthy() turns false, so the next request is refused before anything is sent.
 */
export function recordDecision(context: ProxyContext, fields: RecordFields): void {
  const event: RequestRecord = {
    method: fields.method,
    host: fields.host,
    port: fields.port,
    path: fields.path,
    status: fields.status,
    decision: fields.decision,
    secrets: fields.secrets ?? [],
    bytes_in: fields.bytesIn ?? 0,
    bytes_out: fields.bytesOut ?? 0,
    duration_ms: Math.round((performance.now() - fields.started) * 1000) / 1000,
  };
  if (fields.reason !== undefined) event.reason = fields.reason;
  try {
    context.options.audit.record(event);
  } catch {
    // see above: healthy() now reports the problem and the next decision fails closed
  }
}

/** Why the proxy must refuse everything right now (the audit log cannot be written), or undefined. */
export function auditProblem(context: ProxyContext): string | undefined {
  if (context.options.audit.healthy()) return undefined;
  return `the audit log cannot be written (${context.options.audit.problem() ?? 'unknown problem'}), so onecli refuses requests`;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  407: 'Proxy Authentication Required',
  421: 'Misdirected Request',
  431: 'Request Header Fields Too Large',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** The body of every refusal: one line that says why, in words. Never holds a value (reasons never do). */
function refusalBody(reason: string): string {
  return `onecli: ${reason}\n`;
}

/** A refusal on an HTTP response the proxy still controls. */
export function refuse(res: http.ServerResponse, status: number, reason: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = refusalBody(reason);
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

/** A refusal written straight onto a socket (CONNECT, upgrade, or before any HTTP server owns it); closes it. */
export function refuseRaw(socket: Duplex, status: number, reason: string, extra: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = refusalBody(reason);
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n`;
  for (const [name, value] of Object.entries(extra)) head += `${name}: ${value}\r\n`;
  socket.end(`${head}\r\n${body}`);
}

/** Plain words for an upstream connection failure; codes only, so no server-supplied text reaches the client. */
export function describeUpstreamError(err: unknown, where: string): string {
  const code = (err as { code?: unknown } | null)?.code;
  const text = typeof code === 'string' ? code : 'unknown error';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|ERR_TLS|ERR_SSL|LEAF_SIGNATURE/.test(text)) {
    return `the TLS certificate of ${where} failed verification (${text}); nothing was sent to it`;
  }
  if (text === 'ECONNREFUSED') return `${where} refused the connection`;
  if (text === 'ENOTFOUND' || text === 'EAI_AGAIN') return `${where} could not be resolved (${text})`;
  return `the connection to ${where} failed (${text})`;
}
