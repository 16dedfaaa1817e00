import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { OnecliError } from '../errors.js';
import { auditDir } from '../home.js';
import { START_MARKER, sealLine, macOf } from './chain.js';
import { emptyCounts, encodeBody, logAgent, type AuditEventInput, type RequestCounts } from './event.js';
import { currentPath, listAuditFiles, maxBytes, nextRolledName, readLastLine, tryLock } from './files.js';

export interface AuditWriterOptions {
  home: string;
  /** the vault's auditKey (32 bytes) */
  key: Buffer;
  /** defaults to a fresh newSessionId() */
  session?: string;
  /** the command line, e.g. ["claude", "--print"] or ["onecli", "secret", "add"] */
  agent: readonly string[];
  /** recorded on the session's first line so verify can tell a run in progress from a truncated one */
  pid?: number;
  /** rollover threshold; defaults to ONECLI_AUDIT_MAX_BYTES or 16 MiB */
  maxBytes?: number;
}

export interface AppendOptions {
  /** closes a one-shot session (a CLI command's single event) */
  final?: boolean;
}

/** How long followCurrent trusts its last look at the log file (see there). */
const FOLLOW_MS = 2;

export function newSessionId(): string {
  return randomBytes(8).toString('hex');
}

const ERRNO_WORDS: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted',
  ENOTDIR: 'a part of the path is not a folder',
  EEXIST: 'a file is in the way of the audit folder',
  EISDIR: 'the log file is a folder',
  ENOTREG: 'the log is not a regular file',
  EIO: 'an input/output error',
};

/**
 * One session's writer: appends whole lines with one write() each on an O_APPEND descriptor, so lines from
 * concurrent processes never interleave. After any failure it stays unhealthy: the proxy then refuses the requests it
 * could not record (fail closed) instead of forwarding them unlogged.
 */
export class AuditWriter {
  readonly session: string;
  readonly file: string;
  private readonly home: string;
  private readonly key: Buffer;
  private readonly agent: string[];
  private readonly pid: number;
  private readonly limit: number;
  private fd: number | null = null;
  private ino = -1;
  /** the log's size at the last check plus what this writer appended since (other writers may add more) */
  private knownSize = 0;
  private checkedAt = -Infinity;
  private anchor: string | null = null;
  private seq = 0;
  private prev = START_MARKER;
  private ended = false;
  private readonly counts: RequestCounts = emptyCounts();
  private failure: string | undefined;

  private constructor(options: AuditWriterOptions) {
    this.home = options.home;
    this.key = options.key;
    this.session = options.session ?? newSessionId();
    this.agent = logAgent(options.agent);
    this.pid = options.pid ?? process.pid;
    this.limit = options.maxBytes ?? maxBytes();
    this.file = currentPath(options.home);
  }

  /** Opens the log for a new session; throws E_AUDIT_UNAVAILABLE when the folder or file cannot be opened. */
  static open(options: AuditWriterOptions): AuditWriter {
    const writer = new AuditWriter(options);
    const failure = writer.start();
    if (failure !== undefined) throw failure;
    return writer;
  }

  /** Like open, but a writer that cannot open comes back unhealthy (with a problem) instead of throwing. */
  static tryOpen(options: AuditWriterOptions): AuditWriter {
    const writer = new AuditWriter(options);
    writer.start();
    return writer;
  }

  private start(): OnecliError | undefined {
    try {
      fs.mkdirSync(auditDir(this.home), { recursive: true, mode: 0o700 });
      this.reopen();
      this.anchor = this.lastMac();
      return undefined;
    } catch (err) {
      return this.fail(err);
    }
  }

  get healthy(): boolean {
    return this.failure === undefined && this.fd !== null;
  }

  /** Why the writer is unhealthy, in plain words. */
  get problem(): string | undefined {
    return this.failure;
  }

  /** Appends one event synchronously. session.end (or final) closes the session. */
  append(input: AuditEventInput, options: AppendOptions = {}): void {
    if (this.ended) throw new OnecliError('E_INTERNAL', `audit session ${this.session} already ended`);
    if (this.failure !== undefined || this.fd === null) {
      throw new OnecliError('E_AUDIT_UNAVAILABLE', this.failure ?? 'the audit log is closed', this.hint());
    }
    const fields: Array<[string, unknown]> = [
      ['ts', new Date().toISOString()],
      ['event', input.event],
      ['session', this.session],
      ['seq', this.seq],
      ['prev', this.prev],
      ['agent', this.agent],
    ];
    if (this.seq === 0) fields.push(['pid', this.pid], ['anchor', this.anchor]);
    fields.push(...encodeBody(input, this.counts));
    if (options.final === true) fields.push(['final', true]);
    const { line, mac } = sealLine(this.key, fields);
    const bytes = Buffer.from(line, 'utf8');
    try {
      this.followCurrent(bytes.length);
      const written = fs.writeSync(this.fd, bytes);
      if (written !== bytes.length) {
        // Terminate the torn line so the next writer's line starts on its own; verify reports the torn one.
        try {
          fs.writeSync(this.fd, '\n');
        } catch {
          // nothing more can be done; the writer is unhealthy either way
        }
        throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
      }
    } catch (err) {
      throw this.fail(err);
    }
    this.seq += 1;
    this.prev = mac;
    if (input.event === 'request') this.counts[input.decision in this.counts ? input.decision : 'error'] += 1;
    if (input.event === 'session.end' || options.final === true) this.ended = true;
  }

  close(): void {
    if (this.fd === null) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // already unusable; nothing was lost that append did not report
    }
    this.fd = null;
  }

  /**
   * Reopens when another writer rolled the file; rolls it when this line would pass the limit. The stat is skipped
   * while the size this writer knows of stays under the limit and the last check is under FOLLOW_MS old: a stat per
   * line was ~3% of the proxy's CPU. Within that window a line may still land in a file another writer has just rolled,
   * which verify accepts (each session's chain is whole either way), and a file may pass the limit by the other
   * writers' lines of that window.
   */
  private followCurrent(lineBytes: number): void {
    const now = performance.now();
    if (now - this.checkedAt < FOLLOW_MS && this.knownSize + lineBytes <= this.limit) {
      this.knownSize += lineBytes;
      return;
    }
    this.checkedAt = now;
    let stat = statOrNull(this.file);
    if (stat === null || stat.ino !== this.ino) {
      this.reopen();
      stat = fs.fstatSync(this.fd!);
    }
    this.knownSize = stat.size + lineBytes;
    if (stat.size > 0 && stat.size + lineBytes > this.limit) {
      this.roll(lineBytes);
      if (statOrNull(this.file)?.ino !== this.ino) this.reopen();
      // after a roll (ours or another's) the line goes to a fresh or nearly fresh file; the next line checks again
      this.checkedAt = -Infinity;
    }
  }

  private roll(lineBytes: number): void {
    const dir = auditDir(this.home);
    const release = tryLock(dir);
    if (release === null) return;
    try {
      // Re-checked under the lock: another writer may have rolled it a moment ago.
      const stat = statOrNull(this.file);
      if (stat === null || stat.size === 0 || stat.size + lineBytes <= this.limit) return;
      fs.renameSync(this.file, path.join(dir, nextRolledName(listAuditFiles(this.home))));
    } finally {
      release();
    }
  }

  private reopen(): void {
    const fd = fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
    const stat = fs.fstatSync(fd);
    // A device or pipe (say /dev/null) would swallow events: only a regular file is a log.
    if (!stat.isFile()) {
      fs.closeSync(fd);
      throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    }
    if ((stat.mode & 0o077) !== 0) fs.fchmodSync(fd, 0o600);
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = fd;
    this.ino = stat.ino;
  }

  /** The anchor: the mac of the log's last line (the current file, else the newest rolled one). */
  private lastMac(): string | null {
    const files = listAuditFiles(this.home);
    for (const file of files.reverse()) {
      const line = readLastLine(file);
      if (line !== null) return macOf(line);
    }
    return null;
  }

  private hint(): string {
    return `make ${JSON.stringify(auditDir(this.home))} writable (free space, permissions, mount), then start again; requests that cannot be recorded are refused`;
  }

  private fail(err: unknown): OnecliError {
    const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
    const words = ERRNO_WORDS[code] ?? 'an unexpected error';
    this.failure = `the audit log ${JSON.stringify(this.file)} cannot be written: ${words} (${code})`;
    return new OnecliError('E_AUDIT_UNAVAILABLE', this.failure, this.hint(), { cause: err });
  }
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export interface CommandEventOptions {
  home: string;
  key: Buffer;
  agent: readonly string[];
  event: AuditEventInput;
}

/** A CLI command's record: one final event as its own session. Throws E_AUDIT_UNAVAILABLE when it cannot be written. */
export function recordCommandEvent(options: CommandEventOptions): void {
  const writer = AuditWriter.open({ home: options.home, key: options.key, agent: options.agent });
  try {
    writer.append(options.event, { final: true });
  } finally {
    writer.close();
  }
}
