import fs from 'node:fs';
import path from 'node:path';
import { OnecliError } from '../errors.js';
import { START_MARKER, macMatches, splitLine } from './chain.js';
import { CURRENT_FILE, listAuditFiles } from './files.js';

export interface VerifyProblem {
  file: string;
  /** 1-based line number within file */
  line: number;
  reason: string;
}

export interface VerifyResult {
  ok: boolean;
  files: number;
  sessions: number;
  events: number;
  /** sessions without a closing event whose process is still running (runs in progress) */
  open: number;
  problem?: VerifyProblem;
}

export interface VerifyOptions {
  /** whether the process that wrote a session is still running; default: a signal-0 probe on this host */
  isAlive?: (pid: number) => boolean;
}

interface SessionState {
  next: number;
  prev: string;
  closed: boolean;
  pid: number | null;
  fileIndex: number;
  file: string;
  line: number;
}

const CHUNK = 1024 * 1024;
const NEWLINE = 0x0a;

/**
 * Checks every line's MAC and every session's chain, in log order across files. Stops at the first bad line;
 * a session that stops without its closing event (and whose process is gone) is reported at its last line.
 */
export function verifyAudit(home: string, key: Buffer, options: VerifyOptions = {}): VerifyResult {
  const isAlive = options.isAlive ?? processIsAlive;
  const files = listAuditFiles(home);
  const sessions = new Map<string, SessionState>();
  // 48-bit prefixes of every mac seen so far, for the anchor check: exact in a double, and a deleted line's prefix
  // turning up by chance among a million others has odds of about 1 in 10^8.
  const seen = new Set<number>();
  let events = 0;
  const result = (problem?: VerifyProblem): VerifyResult => {
    let open = 0;
    for (const state of sessions.values()) if (!state.closed) open += 1;
    const summary = { ok: problem === undefined, files: files.length, sessions: sessions.size, events, open };
    return problem === undefined ? summary : { ...summary, problem };
  };

  for (const [fileIndex, file] of files.entries()) {
    const isCurrent = path.basename(file) === CURRENT_FILE && fileIndex === files.length - 1;
    const check = (raw: string, lineNo: number): string | null => {
      if (raw === '') return 'an empty line';
      const split = splitLine(raw);
      if (split === null) return isJson(raw) ? 'the line has no valid "mac" as its last field' : 'the line is not valid JSON';
      let fields: Record<string, unknown>;
      try {
        fields = JSON.parse(split.canonical) as Record<string, unknown>;
      } catch {
        return 'the line is not valid JSON';
      }
      if (!macMatches(key, split.canonical, split.mac)) return 'the MAC does not match: the line was edited, or forged without the key';
      // From here the fields are the writer's own: the MAC vouches for them.
      const session = String(fields['session']);
      const seq = Number(fields['seq']);
      const prev = String(fields['prev']);
      let state = sessions.get(session);
      if (state === undefined) {
        if (seq !== 0 || prev !== START_MARKER) return `session ${session} starts at seq ${seq}: its earlier lines are missing`;
        const anchor = fields['anchor'];
        if (typeof anchor === 'string' && !seen.has(prefix(anchor))) {
          return `session ${session} was opened after a line that is not earlier in the log (lines deleted or moved)`;
        }
        state = { next: 0, prev: START_MARKER, closed: false, pid: typeof fields['pid'] === 'number' ? fields['pid'] : null, fileIndex, file, line: lineNo };
        sessions.set(session, state);
      }
      if (state.closed) return `session ${session} already ended before this line (a copied or moved line)`;
      if (seq > state.next) return `session ${session} jumps from seq ${state.next - 1} to ${seq}: a line before this one is missing`;
      if (seq < state.next) return `session ${session} repeats seq ${seq} after seq ${state.next - 1}: lines are reordered or copied`;
      if (prev !== state.prev) return `session ${session} seq ${seq} does not follow the line before it`;
      state.next = seq + 1;
      state.prev = split.mac;
      state.closed = fields['event'] === 'session.end' || fields['final'] === true;
      state.fileIndex = fileIndex;
      state.file = file;
      state.line = lineNo;
      seen.add(prefix(split.mac));
      events += 1;
      return null;
    };

    const problem = scanLines(file, isCurrent, check);
    if (problem !== null) return result({ file, line: problem.line, reason: problem.reason });
  }

  let truncated: SessionState | null = null;
  for (const state of sessions.values()) {
    if (state.closed || (state.pid !== null && isAlive(state.pid))) continue;
    if (truncated === null || state.fileIndex < truncated.fileIndex || (state.fileIndex === truncated.fileIndex && state.line < truncated.line)) {
      truncated = state;
    }
  }
  if (truncated !== null) {
    const id = [...sessions].find(([, state]) => state === truncated)?.[0] ?? '?';
    return result({ file: truncated.file, line: truncated.line, reason: `session ${id} ends at this line without a closing event and its process is gone: the lines after it were cut` });
  }
  return result();
}

/** Streams a file line by line in 1 MiB chunks; returns the first problem. */
function scanLines(file: string, isCurrent: boolean, check: (raw: string, line: number) => string | null): { line: number; reason: string } | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
    throw new OnecliError('E_AUDIT_UNAVAILABLE', `cannot read the audit log ${JSON.stringify(file)} (${code})`, 'check that the audit folder and its files are readable by you', { cause: err });
  }
  try {
    const buf = Buffer.alloc(CHUNK);
    let carry = Buffer.alloc(0);
    let offset = 0;
    let lineNo = 0;
    for (;;) {
      const got = fs.readSync(fd, buf, 0, CHUNK, offset);
      if (got === 0) break;
      offset += got;
      const chunk = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, got)]) : buf.subarray(0, got);
      const last = chunk.lastIndexOf(NEWLINE);
      if (last < 0) {
        carry = Buffer.from(chunk);
        continue;
      }
      const lines = chunk.toString('utf8', 0, last).split('\n');
      for (const raw of lines) {
        lineNo += 1;
        const reason = check(raw, lineNo);
        if (reason !== null) return { line: lineNo, reason };
      }
      carry = Buffer.from(chunk.subarray(last + 1));
    }
    // A line without its newline: in the current file a write may be landing right now; elsewhere it was torn.
    if (carry.length > 0 && !isCurrent) return { line: lineNo + 1, reason: 'the last line is incomplete (no newline): a write was cut short' };
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

function isJson(raw: string): boolean {
  try {
    JSON.parse(raw);
    return true;
  } catch {
    return false;
  }
}

function prefix(mac: string): number {
  return parseInt(mac.slice(0, 12), 16);
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
