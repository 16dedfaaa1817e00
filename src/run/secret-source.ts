/**
 * The values a run injects. `valueOf` is called by the proxy for each request that gets a credential; it re-reads
 * the vault file when the file changed (inode, size or mtime — writes are atomic renames, so a rotation always
 * changes the inode) and decrypts it with the key the run already derived: no new KDF per request, and a
 * `onecli rotate NAME` during the run applies from the next request on.
 */
import fs from 'node:fs';
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

function stampOf(file: string): FileStamp | null {
  try {
    const stat = fs.statSync(file);
    return { ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs };
  } catch {
    return null;
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

  const refresh = (): boolean => {
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
      refresh();
      const value = values.get(name);
      if (value === undefined) throw new OnecliError('E_SECRET_NOT_FOUND', `no secret named ${JSON.stringify(name)} in this run`);
      return value;
    },
  };
}
