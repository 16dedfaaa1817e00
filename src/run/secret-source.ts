/**
 * The values a run injects. `valueOf` is called by the proxy for each request that gets a credential; it re-reads
 * the vault file when the file changed (inode, size or mtime — writes are atomic renames, so a rotation always
 * changes the inode) and decrypts it with the key the run already derived: no new KDF per request, and a
 * `onecli rotate NAME` during the run applies from the next request on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { OnecliError } from '../errors.js';
import { parseContents } from '../vault/contents.js';
import { openWithKey } from '../vault/format.js';
import type { SecretRecord } from '../vault/secret.js';
import { readVaultFile } from '../vault/vault-file.js';

interface FileStamp {
  ino: number;
  size: number;
  mtimeMs: number;
}

export interface SecretSource {
  valueOf(name: string): string;
  /** re-reads the vault if it changed; returns true when a value in scope changed */
  refresh(): boolean;
}

/**
 * How long a stamp is trusted without a new stat, unless the folder watch saw a change. A stat per request cost ~3%
 * of the proxy's CPU at 50 clients; the watch reports a rotation's rename as soon as the event loop turns, and this
 * bound covers a watch event not yet delivered (or no watch at all): a rotation finished this long before a request
 * is always seen by it.
 */
const TRUST_STAMP_MS = 2;

function stampOf(file: string): FileStamp | null {
  try {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    return stat === undefined ? null : { ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs };
  } catch {
    return null;
  }
}

/** Calls onChange when something in the vault's folder changes; never keeps the process alive. */
function watchFolder(file: string, onChange: () => void): void {
  try {
    const watcher = fs.watch(path.dirname(file), { persistent: false }, onChange);
    // A watch that fails later (folder removed) only costs the shortcut: every stamp then expires after TRUST_STAMP_MS.
    watcher.on('error', () => watcher.close());
  } catch {
    // no inotify here (or no folder): stamps simply expire after TRUST_STAMP_MS
  }
}

function sameStamp(a: FileStamp | null, b: FileStamp | null): boolean {
  return a !== null && b !== null && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/**
 * @param secrets the secrets in scope, as unlocked at the start of the run
 * @param key the derived vault key (kept in memory for the run only)
 */
export function createSecretSource(vaultFile: string, key: Buffer, secrets: readonly SecretRecord[]): SecretSource {
  const values = new Map<string, string>(secrets.map((secret) => [secret.name, secret.value]));
  // Stamped now, after the unlock: a change between the two is caught by the first refresh (stamps differ).
  let stamp = stampOf(vaultFile);
  let stampedAt = performance.now();
  let dirty = false;
  watchFolder(vaultFile, () => {
    dirty = true;
  });

  const refresh = (): boolean => {
    dirty = false;
    stampedAt = performance.now();
    const now = stampOf(vaultFile);
    if (sameStamp(stamp, now)) return false;
    stamp = now;
    if (now === null) return false;
    let fresh: SecretRecord[];
    try {
      fresh = parseContents(openWithKey(readVaultFile(vaultFile), key).plaintext).secrets;
    } catch {
      // Master key rotated (our key no longer opens it), or an unreadable file: the run keeps the values it has.
      return false;
    }
    let changed = false;
    for (const secret of fresh) {
      if (values.has(secret.name) && values.get(secret.name) !== secret.value) {
        values.set(secret.name, secret.value);
        changed = true;
      }
    }
    // A secret removed during the run keeps its last value until the run ends: the agent was started with it.
    return changed;
  };

  return {
    refresh,
    valueOf(name: string): string {
      if (dirty || performance.now() - stampedAt >= TRUST_STAMP_MS) refresh();
      const value = values.get(name);
      if (value === undefined) throw new OnecliError('E_SECRET_NOT_FOUND', `no secret named ${JSON.stringify(name)} in this run`);
      return value;
    },
  };
}
