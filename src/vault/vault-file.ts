/**
 * The vault on disk: private folder, permission checks, atomic replacement and the inter-process lock.
 *
 * Writers follow one protocol (docs/vault-format.md, "Writing"): take the lock, re-read, change, write a temp file in
 * the same folder, fsync it, rename it over the vault, fsync the folder, release. A crash at any instant leaves either
 * the previous or the next complete vault, and two writers never interleave.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type Lockfile from 'proper-lockfile';
import { OnecliError } from '../errors.js';
import { auditDir, vaultPath } from '../home.js';

// proper-lockfile (and the graceful-fs it patches in) loads on the first lock: readers such as `onecli run` and
// `secret list` never take the lock and skip ~10 ms of start-up.
let lockfileModule: typeof Lockfile | undefined;
const lockfile = (): typeof Lockfile => (lockfileModule ??= createRequire(import.meta.url)('proper-lockfile') as typeof Lockfile);

/** Far above any real vault (a few KiB per secret); keeps a hostile or wrong file from being read whole into memory. */
export const MAX_VAULT_BYTES = 16 * 1024 * 1024;

/** A lock older than this (not refreshed by a live holder) is taken over: its holder crashed. */
export const LOCK_STALE_MS = 10_000;
/** How long a command waits for another one to finish before giving up with E_VAULT_LOCKED. */
export const LOCK_WAIT_MS = 15_000;

const PRIVATE_DIR_MODE = 0o700;
const PRIVATE_FILE_MODE = 0o600;
const IS_WINDOWS = process.platform === 'win32';

export interface PermissionFinding {
  path: string;
  /** e.g. "0600"; empty when the path does not exist */
  mode: string;
  ok: boolean;
  problem?: string;
}

/** mkdir -p; a folder it creates is made 0700. An existing folder is left as it is (`onecli doctor` reports it). */
export function ensurePrivateDir(dir: string): void {
  try {
    const created = fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    // The umask may have removed bits from the mode; a folder we create is exactly 0700.
    if (created !== undefined) fs.chmodSync(dir, PRIVATE_DIR_MODE);
    else if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (err) {
    throw fsFailure(err, `cannot create the folder ${JSON.stringify(dir)}`, dir);
  }
}

/** Reads the vault without changing anything; refuses a vault that others can read or write. */
export function readVaultFile(file: string): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') {
      throw new OnecliError('E_VAULT_NOT_FOUND', `no vault at ${JSON.stringify(file)}`, 'run `onecli init` to create one, or set ONECLI_HOME to the folder that holds it');
    }
    throw fsFailure(err, `cannot open the vault ${JSON.stringify(file)}`, file);
  }
  try {
    // fstat on the open descriptor: the checks apply to the very file that is read, not to whatever the path names now.
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) {
      throw new OnecliError('E_VAULT_CORRUPT', `the vault ${JSON.stringify(file)} is not a regular file`, 'move it out of the way and restore the vault from a backup');
    }
    const problem = privacyProblem(stat, PRIVATE_FILE_MODE);
    if (problem !== undefined) {
      throw new OnecliError('E_VAULT_PERMISSIONS', `the vault ${JSON.stringify(file)} ${problem}`, permissionHint(file, stat, PRIVATE_FILE_MODE));
    }
    if (stat.size > MAX_VAULT_BYTES) {
      throw new OnecliError('E_VAULT_CORRUPT', `the vault ${JSON.stringify(file)} is ${String(stat.size)} bytes; a vault is at most ${String(MAX_VAULT_BYTES)}`, 'check that ONECLI_HOME points at an onecli state folder');
    }
    return fs.readFileSync(fd);
  } catch (err) {
    if (err instanceof OnecliError) throw err;
    throw fsFailure(err, `cannot read the vault ${JSON.stringify(file)}`, file);
  } finally {
    fs.closeSync(fd);
  }
}

/** What `onecli doctor` shows: the state folder should be 0700, the vault and audit files 0600, all owned by us. */
export function inspectPermissions(home: string): PermissionFinding[] {
  const findings = [inspectPath(home, PRIVATE_DIR_MODE, 'dir'), inspectPath(vaultPath(home), PRIVATE_FILE_MODE, 'file')];
  const audit = auditDir(home);
  if (fs.existsSync(audit)) {
    findings.push(inspectPath(audit, PRIVATE_DIR_MODE, 'dir'));
    let names: string[] = [];
    try {
      names = fs.readdirSync(audit).sort();
    } catch {
      // unreadable: the folder's own finding already says why
    }
    for (const name of names) findings.push(inspectPath(path.join(audit, name), PRIVATE_FILE_MODE, 'file'));
  }
  return findings;
}

/**
 * Replaces file with bytes so that a crash at any instant leaves the old or the new content: a 0600 temp file in the
 * same folder (same filesystem, so rename is atomic), written and fsynced, renamed over file, then the folder fsynced
 * so the rename itself survives a power cut. The temp file is removed on any failure.
 */
export function writeFileAtomic(file: string, bytes: Uint8Array): void {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(8).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    // O_EXCL: never write through a file or symlink someone placed at the temp name.
    fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, PRIVATE_FILE_MODE);
    if (!IS_WINDOWS) fs.fchmodSync(fd, PRIVATE_FILE_MODE);
    let written = 0;
    while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, file);
  } catch (err) {
    if (fd !== undefined) closeQuietly(fd);
    try {
      fs.unlinkSync(temp);
    } catch {
      // never created, or already renamed
    }
    throw fsFailure(err, `cannot write ${JSON.stringify(file)}`, dir);
  }
  fsyncDir(dir);
}

/** Handed to the critical section: `lost` turns true if the lock was taken from us (its holder stalled past 10 s). */
export interface HeldLock {
  readonly lost: boolean;
}

export interface VaultLockOptions {
  /** How long to wait for another holder; LOCK_WAIT_MS unless a test wants a quick E_VAULT_LOCKED. */
  waitMs?: number;
}

/**
 * Runs fn while holding the vault's inter-process lock (proper-lockfile: a 0700 `<file>.lock` folder next to the
 * vault, refreshed every 5 s, taken over when older than 10 s). Waits up to 15 s with jittered backoff, then
 * E_VAULT_LOCKED. If the lock is lost while fn runs, fn can see it in `lock.lost` (check it before the final rename),
 * and withVaultLock fails with E_VAULT_LOCKED once fn is done.
 */
export async function withVaultLock<T>(file: string, fn: (lock: HeldLock) => Promise<T>, options: VaultLockOptions = {}): Promise<T> {
  let lost: Error | undefined;
  const release = await acquireLock(file, options.waitMs ?? LOCK_WAIT_MS, (err) => {
    // proper-lockfile's default handler throws from a timer, which would crash the process mid-write. Record it and
    // report once fn is done: the vault on disk is still whole (writes are atomic), but another writer may have run.
    lost = err;
  });
  try {
    const result = await fn({
      get lost() {
        return lost !== undefined;
      },
    });
    if (lost !== undefined) {
      throw new OnecliError('E_VAULT_LOCKED', `lost the vault lock while working (${lost.message}); another onecli may have changed the vault at the same time`, 'check the result (e.g. `onecli secret list`) and run the command again if the change is missing');
    }
    return result;
  } finally {
    try {
      await release();
    } catch {
      // already released because it was compromised, or its folder was removed: nothing left to undo
    }
  }
}

/** The lock folder sits next to the vault, inside ONECLI_HOME, and is made 0700 like the rest of the state folder. */
const lockFs = {
  ...fs,
  mkdir: (dir: string, callback: (err: NodeJS.ErrnoException | null) => void) => fs.mkdir(dir, { mode: PRIVATE_DIR_MODE }, (err) => callback(err)),
};

async function acquireLock(file: string, waitMs: number, onCompromised: (err: Error) => void): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  let delay = 20;
  for (;;) {
    try {
      // realpath: false because `onecli init` locks a vault that does not exist yet.
      return await lockfile().lock(file, { realpath: false, stale: LOCK_STALE_MS, retries: 0, fs: lockFs, onCompromised });
    } catch (err) {
      if (errorCode(err) !== 'ELOCKED') throw fsFailure(err, `cannot lock the vault ${JSON.stringify(file)}`, path.dirname(file));
    }
    if (Date.now() >= deadline) {
      throw new OnecliError('E_VAULT_LOCKED', `the vault ${JSON.stringify(file)} has been locked by another process for ${String(Math.round(waitMs / 100) / 10)} s`, [
        'another onecli command is running; wait for it to finish and try again',
        `if none is running, remove the stale lock folder: rmdir ${shellQuote(`${file}.lock`)}`,
      ]);
    }
    // Jitter keeps many waiters from retrying in lockstep; the cap keeps the wait short once the holder is done.
    await sleep(Math.min(delay * (0.5 + Math.random()), deadline - Date.now()));
    delay = Math.min(delay * 1.5, 500);
  }
}

function inspectPath(target: string, wanted: number, kind: 'dir' | 'file'): PermissionFinding {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    return { path: target, mode: '', ok: false, problem: kind === 'dir' ? 'the folder does not exist' : 'the file does not exist' };
  }
  const mode = formatMode(stat.mode);
  if (kind === 'dir' ? !stat.isDirectory() : !stat.isFile()) {
    return { path: target, mode, ok: false, problem: kind === 'dir' ? 'is not a folder' : 'is not a regular file' };
  }
  const problem = privacyProblem(stat, wanted);
  return problem === undefined ? { path: target, mode, ok: true } : { path: target, mode, ok: false, problem: `${problem}; fix: ${permissionHint(target, stat, wanted)}` };
}

/** Why stat is not private (any group/other bit, or another owner), or undefined when it is. Windows has no such bits. */
function privacyProblem(stat: fs.Stats, wanted: number): string | undefined {
  if (IS_WINDOWS) return undefined;
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) return `is owned by uid ${String(stat.uid)}, not by this user (uid ${String(uid)})`;
  if ((stat.mode & 0o077) !== 0) return `has mode ${formatMode(stat.mode)}: others can read or change it (it should be ${formatMode(wanted)})`;
  return undefined;
}

function permissionHint(target: string, stat: fs.Stats, wanted: number): string {
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) return `run onecli as the owner of ${JSON.stringify(target)}, or move it away and restore your own copy`;
  return `chmod ${(wanted & 0o777).toString(8)} ${shellQuote(target)}`;
}

function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

function fsyncDir(dir: string): void {
  // Windows cannot open a folder for fsync; NTFS journals the rename itself.
  if (IS_WINDOWS) return;
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (err) {
    // Some filesystems refuse fsync on a folder; the rename has happened, only its durability is best-effort there.
    const code = errorCode(err);
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'ENOTSUP') throw fsFailure(err, `cannot sync the folder ${JSON.stringify(dir)}`, dir);
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}

function fsFailure(err: unknown, what: string, where: string): OnecliError {
  const code = errorCode(err) ?? 'unknown error';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new OnecliError('E_VAULT_PERMISSIONS', `${what}: permission denied (${code})`, `check the owner and mode of ${JSON.stringify(where)} (ls -ld ${shellQuote(where)})`, { cause: err });
  }
  if (code === 'ENOTDIR' || code === 'EEXIST') {
    return new OnecliError('E_USAGE', `${what}: a path on the way is not a folder (${code})`, 'point ONECLI_HOME at a folder', { cause: err });
  }
  if (code === 'ENOENT') {
    return new OnecliError('E_VAULT_NOT_FOUND', `${what}: the folder does not exist`, 'run `onecli init`, or set ONECLI_HOME to the folder that holds the vault', { cause: err });
  }
  return new OnecliError('E_VAULT_IO', `${what}: ${code}`, 'check free disk space and the state folder, then try again', { cause: err });
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}

function shellQuote(value: string): string {
  return /^[\w./@%+=:,-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
