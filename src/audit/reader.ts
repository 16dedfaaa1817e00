import fs from 'node:fs';
import { OnecliError } from '../errors.js';
import { auditDir } from '../home.js';
import type { Decision } from '../proxy/types.js';
import type { AuditLine } from './event.js';
import { currentPath, listAuditFiles } from './files.js';

export interface AuditFilter {
  /** a session id or its first characters */
  session?: string;
  secret?: string;
  host?: string;
  decision?: Decision;
  since?: Date;
}

/** Where tail stopped reading the current file, so follow can carry on from there without a gap or a repeat. */
export interface LogPosition {
  ino: number;
  offset: number;
}

export interface TailResult {
  events: AuditLine[];
  /** bytes read from disk: tail reads backwards from the end, never the whole log */
  bytesRead: number;
  position: LogPosition | null;
}

const BLOCK = 64 * 1024;
const NEWLINE = 0x0a;
/** Concurrent writers stamp ts just before their write, so lines may be out of order by this much at most. */
const CLOCK_SLACK_MS = 5_000;

/** "10m", "2h", "1d", "30s", or an ISO 8601 date. */
export function parseSince(text: string, now = Date.now()): Date {
  const relative = /^(\d+)([smhd])$/.exec(text.trim());
  if (relative) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now - Number(relative[1]) * unit);
  }
  const absolute = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(absolute)) {
    throw new OnecliError('E_USAGE', `--since ${JSON.stringify(text)} is neither a duration nor a date`, 'use a duration such as 10m, 2h, 1d, or an ISO date such as 2026-01-01T09:00:00Z');
  }
  return new Date(absolute);
}

/** A line as an event, or null when it is not a JSON object with the common fields. */
export function parseLine(raw: string): AuditLine | null {
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== 'object' || value === null) return null;
    const line = value as Partial<AuditLine>;
    if (typeof line.ts !== 'string' || typeof line.event !== 'string' || typeof line.session !== 'string') return null;
    return value as AuditLine;
  } catch {
    return null;
  }
}

export function matchesFilter(line: AuditLine, filter: AuditFilter): boolean {
  if (filter.session !== undefined && !line.session.startsWith(filter.session)) return false;
  if (filter.secret !== undefined) {
    const names = 'secrets' in line ? line.secrets : 'secret' in line ? [line.secret] : [];
    if (!names.includes(filter.secret)) return false;
  }
  if (filter.host !== undefined && (line.event !== 'request' || line.host !== filter.host.toLowerCase())) return false;
  if (filter.decision !== undefined && (line.event !== 'request' || line.decision !== filter.decision)) return false;
  if (filter.since !== undefined && !(Date.parse(line.ts) >= filter.since.getTime())) return false;
  return true;
}

/**
 * The last n matching events, oldest first. Reads each file backwards in blocks from its end, newest file first, and
 * stops as soon as it has n (or, with since, once it is past the start time), so the cost does not grow with the log.
 */
export function tailAudit(home: string, n: number, filter: AuditFilter = {}, blockSize = BLOCK): TailResult {
  const found: AuditLine[] = [];
  let bytesRead = 0;
  let position: LogPosition | null = null;
  const oldest = filter.since === undefined ? -Infinity : filter.since.getTime() - CLOCK_SLACK_MS;
  let pastStart = false;
  const take = (raw: Buffer): void => {
    const line = parseLine(raw.toString('utf8'));
    if (line === null) return;
    if (Date.parse(line.ts) < oldest) pastStart = true;
    else if (matchesFilter(line, filter)) found.push(line);
  };
  const files = listAuditFiles(home).reverse();
  for (const file of files) {
    if (found.length >= n || pastStart) break;
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // rolled away meanwhile
      throw unreadable(file, err);
    }
    try {
      const stat = fs.fstatSync(fd);
      if (position === null && file === currentPath(home)) position = { ino: stat.ino, offset: stat.size };
      let pos = stat.size;
      let carry = Buffer.alloc(0);
      let first = true;
      while (pos > 0 && found.length < n && !pastStart) {
        const length = Math.min(blockSize, pos);
        pos -= length;
        const block = Buffer.alloc(length);
        fs.readSync(fd, block, 0, length, pos);
        bytesRead += length;
        const chunk = carry.length > 0 ? Buffer.concat([block, carry]) : block;
        let end = chunk.length;
        if (first) {
          // A line still being written (no newline yet) is not an event yet.
          end = chunk.lastIndexOf(NEWLINE) + 1;
          first = false;
        }
        // chunk[0, end) is whole lines, each ending in a newline, except the first, which may start in the block before.
        while (end >= 2 && found.length < n && !pastStart) {
          const nl = chunk.lastIndexOf(NEWLINE, end - 2);
          if (nl < 0) break;
          if (end - nl > 2) take(chunk.subarray(nl + 1, end - 1));
          end = nl + 1;
        }
        carry = chunk.subarray(0, end);
      }
      if (pos === 0 && carry.length > 1 && found.length < n && !pastStart) take(carry.subarray(0, carry.length - 1));
    } finally {
      fs.closeSync(fd);
    }
  }
  return { events: found.slice(0, n).reverse(), bytesRead, position };
}

function unreadable(file: string, err: unknown): OnecliError {
  const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
  return new OnecliError('E_AUDIT_UNAVAILABLE', `cannot read the audit log ${JSON.stringify(file)} (${code})`, 'check that the audit folder and its files are readable by you', { cause: err });
}

export interface FollowOptions {
  filter?: AuditFilter;
  /** carry on from where tailAudit stopped; default: the current end of the log */
  start?: LogPosition | null;
  onEvent(line: AuditLine): void;
  onError?(err: unknown): void;
  /** the polling fallback, for file systems where fs.watch says nothing */
  pollMs?: number;
}

interface OpenFile {
  fd: number;
  ino: number;
  offset: number;
  partial: string;
  /** a rolled file is read on for a moment: a writer may still append to it before it notices the roll */
  drainUntil?: number;
}

const DRAIN_MS = 2_000;

/** Follows the log live, across rollovers. Returns a stop function that releases the watcher, timer and files. */
export function followAudit(home: string, options: FollowOptions): { stop: () => void } {
  const file = currentPath(home);
  const filter = options.filter ?? {};
  let current: OpenFile | null = null;
  const draining: OpenFile[] = [];
  let watcher: fs.FSWatcher | null = null;
  let stopped = false;

  const readNew = (open: OpenFile): void => {
    const buf = Buffer.alloc(BLOCK);
    for (;;) {
      const got = fs.readSync(open.fd, buf, 0, BLOCK, open.offset);
      if (got === 0) return;
      open.offset += got;
      const lines = (open.partial + buf.toString('utf8', 0, got)).split('\n');
      open.partial = lines.pop() ?? '';
      for (const raw of lines) {
        const line = raw === '' ? null : parseLine(raw);
        if (line !== null && matchesFilter(line, filter)) options.onEvent(line);
      }
    }
  };

  const openCurrent = (startAt: LogPosition | null | 'end'): void => {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const stat = fs.fstatSync(fd);
    let offset = 0;
    if (startAt === 'end') offset = stat.size;
    else if (startAt !== null && startAt.ino === stat.ino) offset = Math.min(startAt.offset, stat.size);
    current = { fd, ino: stat.ino, offset, partial: '' };
  };

  // Files rolled between two looks (a fast writer, a small limit) are read whole, oldest first, before the new one.
  const known = new Set(listAuditFiles(home));
  const catchUpRolled = (): void => {
    for (const rolled of listAuditFiles(home)) {
      if (rolled === file || known.has(rolled)) continue;
      known.add(rolled);
      let fd: number;
      try {
        fd = fs.openSync(rolled, 'r');
      } catch {
        continue;
      }
      const ino = fs.fstatSync(fd).ino;
      // Already being read through a descriptor that followed it when it was renamed.
      if (current?.ino === ino || draining.some((open) => open.ino === ino)) {
        fs.closeSync(fd);
        continue;
      }
      const open: OpenFile = { fd, ino, offset: 0, partial: '', drainUntil: Date.now() + DRAIN_MS };
      readNew(open);
      draining.push(open);
    }
  };

  const poll = (): void => {
    if (stopped) return;
    try {
      for (const old of [...draining]) {
        readNew(old);
        if (Date.now() > (old.drainUntil ?? 0)) {
          fs.closeSync(old.fd);
          draining.splice(draining.indexOf(old), 1);
        }
      }
      let ino: number | null = null;
      try {
        ino = fs.statSync(file).ino;
      } catch {
        ino = null;
      }
      if (current !== null && ino !== current.ino) {
        readNew(current);
        current.drainUntil = Date.now() + DRAIN_MS;
        draining.push(current);
        current = null;
      }
      // Open the new current file before looking for rolled ones: a file that rolls in between is then either the
      // one we hold open (skipped by inode) or a rolled file we read now, never neither.
      if (current === null && ino !== null) openCurrent(null);
      catchUpRolled();
      if (current !== null) readNew(current);
      if (watcher === null) watchDir();
    } catch (err) {
      options.onError?.(err);
    }
  };

  const watchDir = (): void => {
    try {
      watcher = fs.watch(auditDir(home), { persistent: true }, () => poll());
      watcher.on('error', () => {
        watcher?.close();
        watcher = null; // the poll timer carries on and retries
      });
    } catch {
      watcher = null; // no folder yet, or no inotify here: polling alone
    }
  };

  openCurrent(options.start === undefined || options.start === null ? 'end' : options.start);
  const timer = setInterval(poll, options.pollMs ?? 250);
  // The first look is a tick later, so callbacks never run before the caller holds the stop function.
  setImmediate(poll);

  return {
    stop: (): void => {
      stopped = true;
      clearInterval(timer);
      watcher?.close();
      for (const open of [current, ...draining]) if (open !== null) fs.closeSync(open.fd);
      current = null;
      draining.length = 0;
    },
  };
}
