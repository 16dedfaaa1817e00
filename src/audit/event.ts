import type { Decision, RequestRecord } from '../proxy/types.js';

/**
 * The audit events. Every field is named here and the writer serialises each kind field by field (encodeBody), so an
 * object that happens to carry more at run time (headers, a body, a value) cannot leak it into the log: there is no
 * field for a secret value, a placeholder, a query string, a body or an Authorization/Cookie/Proxy-Authorization header.
 */

export const DECISIONS: readonly Decision[] = ['injected', 'passthrough', 'blocked', 'denied', 'error'];

export const EVENT_KINDS = [
  'session.start',
  'request',
  'session.end',
  'secret.add',
  'secret.rotate',
  'secret.remove',
  'master.rotate',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export type RequestCounts = Record<Decision, number>;

/** What callers hand to AuditWriter.append: the kind and its own fields. */
export type AuditEventInput =
  | { event: 'session.start'; secrets: string[]; proxy_port: number | null }
  | ({ event: 'request' } & RequestRecord)
  | { event: 'session.end'; exit_code: number | null; signal: string | null }
  | { event: 'secret.add'; secret: string; version: number }
  | { event: 'secret.rotate'; secret: string; version: number }
  | { event: 'secret.remove'; secret: string }
  | { event: 'master.rotate'; master?: 'keychain' | 'passphrase' };

/** Fields the writer adds to every line. pid and anchor are on the first line of a session only. */
export interface LineCommon {
  ts: string;
  session: string;
  seq: number;
  /** the mac of the previous line of this session, or START_MARKER on seq 0 */
  prev: string;
  agent: string[];
  pid?: number;
  /** the mac of the log's last line when the session opened (null: the log was empty or unreadable) */
  anchor?: string | null;
  /** set on the event that closes a one-shot session */
  final?: true;
  mac: string;
}

/** One line of the log, as read back. session.end carries the request counts the writer kept. */
export type AuditLine = LineCommon &
  (
    | Exclude<AuditEventInput, { event: 'session.end' }>
    | { event: 'session.end'; exit_code: number | null; signal: string | null; requests: RequestCounts }
  );

const NAME = /^[a-z0-9_-]{1,64}$/;
const MAX_PATH = 1024;
const MAX_REASON = 200;
const MAX_AGENT_ARGS = 32;
const MAX_AGENT_ARG = 256;

export function emptyCounts(): RequestCounts {
  return { injected: 0, passthrough: 0, blocked: 0, denied: 0, error: 0 };
}

/**
 * The path as the log keeps it: no query string, no fragment, no scheme/userinfo/host (an absolute-form request
 * target "http://user:pass@host/p?q" keeps "/p" only). Stripped here even though the proxy already strips it.
 */
export function logPath(raw: string): string {
  let target = raw;
  if (!target.startsWith('/') && target !== '*' && target !== '') {
    try {
      target = new URL(target).pathname;
    } catch {
      return '?';
    }
  }
  const cut = target.search(/[?#]/);
  if (cut >= 0) target = target.slice(0, cut);
  return clip(target, MAX_PATH);
}

/** Only names can be listed; anything else (a mistake that passed a value) is replaced, never written. */
export function logNames(names: readonly string[]): string[] {
  return names.map((name) => (NAME.test(name) ? name : '(invalid name)'));
}

/** Lines stay well under 4 KiB so one write() appends one whole line. */
export function logAgent(argv: readonly string[]): string[] {
  const kept = argv.slice(0, MAX_AGENT_ARGS).map((arg) => clip(String(arg), MAX_AGENT_ARG));
  if (argv.length > MAX_AGENT_ARGS) kept.push(`(+${argv.length - MAX_AGENT_ARGS} more)`);
  return kept;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function int(value: number): number {
  return Number.isFinite(value) ? Math.trunc(value) : -1;
}

/** A request event from the proxy's record, copying only the named fields. */
export function requestEvent(record: RequestRecord): AuditEventInput {
  const event: AuditEventInput = {
    event: 'request',
    method: /^[A-Za-z]{1,16}$/.test(record.method) ? record.method.toUpperCase() : '?',
    host: clip(String(record.host).toLowerCase().replace(/[^a-z0-9.:[\]_-]/g, '?'), 255),
    port: int(record.port),
    path: logPath(String(record.path)),
    status: int(record.status),
    decision: DECISIONS.includes(record.decision) ? record.decision : 'error',
    secrets: logNames(record.secrets),
    bytes_in: int(record.bytes_in),
    bytes_out: int(record.bytes_out),
    duration_ms: int(record.duration_ms),
  };
  if (record.reason !== undefined) event.reason = clip(String(record.reason), MAX_REASON);
  return event;
}

/** The kind-specific fields in their fixed order; unknown run-time properties are never copied. */
export function encodeBody(input: AuditEventInput, counts: RequestCounts): Array<[string, unknown]> {
  switch (input.event) {
    case 'session.start':
      return [['secrets', logNames(input.secrets)], ['proxy_port', input.proxy_port === null ? null : int(input.proxy_port)]];
    case 'request': {
      const clean = requestEvent(input) as Extract<AuditEventInput, { event: 'request' }>;
      const fields: Array<[string, unknown]> = [
        ['method', clean.method], ['host', clean.host], ['port', clean.port], ['path', clean.path],
        ['status', clean.status], ['decision', clean.decision], ['secrets', clean.secrets],
        ['bytes_in', clean.bytes_in], ['bytes_out', clean.bytes_out], ['duration_ms', clean.duration_ms],
      ];
      if (clean.reason !== undefined) fields.push(['reason', clean.reason]);
      return fields;
    }
    case 'session.end':
      return [
        ['exit_code', input.exit_code === null ? null : int(input.exit_code)],
        ['signal', input.signal === null ? null : clip(String(input.signal), 16)],
        ['requests', { ...counts }],
      ];
    case 'secret.add':
    case 'secret.rotate':
      return [['secret', logNames([input.secret])[0]], ['version', int(input.version)]];
    case 'secret.remove':
      return [['secret', logNames([input.secret])[0]]];
    case 'master.rotate':
      return input.master === 'keychain' || input.master === 'passphrase' ? [['master', input.master]] : [];
  }
}
