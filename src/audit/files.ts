import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { auditDir } from '../home.js';

/**
 * Where the log lives: `audit.jsonl` is the current file; full files are renamed to
 * `audit-<UTC timestamp>-<random>.jsonl`, whose names sort in the order they were rolled.
 */

export const CURRENT_FILE = 'audit.jsonl';
export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
const ROLLED = /^audit-(\d{8}T\d{6}\.\d{3}Z)-[0-9a-f]+\.jsonl$/;
const LOCK_FILE = 'rollover.lock';
/** A rename takes microseconds; a lock this old belongs to a process that died holding it. */
const STALE_LOCK_MS = 10_000;

export function currentPath(home: string): string {
  return path.join(auditDir(home), CURRENT_FILE);
}

export function maxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['ONECLI_AUDIT_MAX_BYTES'];
  const parsed = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(parsed) && parsed > 0 ? parsed : DEFAULT_MAX_BYTES;
}

/** Every log file, oldest first; the current file last. Empty when there is no audit folder yet. */
export function listAuditFiles(home: string): string[] {
  const dir = auditDir(home);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const rolled = names.filter((name) => ROLLED.test(name)).sort();
  if (names.includes(CURRENT_FILE)) rolled.push(CURRENT_FILE);
  return rolled.map((name) => path.join(dir, name));
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '');
}

/** A name that sorts after every rolled file already there, even when two rolls fall in the same millisecond. */
export function nextRolledName(existing: readonly string[], now = new Date()): string {
  const last = existing.map((file) => ROLLED.exec(path.basename(file))?.[1]).filter((s): s is string => s !== undefined).sort().at(-1);
  let when = now;
  if (last !== undefined && stamp(when) <= last) {
    const iso = last.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})/, '$1-$2-$3T$4:$5:$6');
    when = new Date(Date.parse(iso) + 1);
  }
  return `audit-${stamp(when)}-${randomBytes(4).toString('hex')}.jsonl`;
}

/**
 * A short exclusive lock for the rename (O_EXCL create). Never waits: when another writer holds it, that writer is
 * rolling the file and this one just appends (its next append sees the new inode).
 */
export function tryLock(dir: string): (() => void) | null {
  const lockPath = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.closeSync(fs.openSync(lockPath, 'wx', 0o600));
      return () => fs.rmSync(lockPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return null;
      try {
        if (Date.now() - fs.statSync(lockPath).mtimeMs < STALE_LOCK_MS) return null;
        fs.rmSync(lockPath, { force: true });
      } catch {
        // gone meanwhile: try once more
      }
    }
  }
  return null;
}

/** The last complete line of a file, read from its end (bounded by blockSize). */
export function readLastLine(file: string, blockSize = 8192): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, blockSize);
    if (length === 0) return null;
    const buf = Buffer.alloc(length);
    fs.readSync(fd, buf, 0, length, size - length);
    const text = buf.toString('utf8');
    const end = text.lastIndexOf('\n');
    if (end < 0) return null;
    const start = text.lastIndexOf('\n', end - 1);
    if (start < 0 && length < size) return null;
    return text.slice(start + 1, end);
  } finally {
    fs.closeSync(fd);
  }
}
