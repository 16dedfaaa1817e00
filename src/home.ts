import os from 'node:os';
import path from 'node:path';

/** The state folder: ONECLI_HOME, else the XDG data dir, else ~/.local/share/onecli. */
export function onecliHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env['ONECLI_HOME']) return path.resolve(env['ONECLI_HOME']);
  const base = env['XDG_DATA_HOME'] ? env['XDG_DATA_HOME'] : path.join(env['HOME'] ?? os.homedir(), '.local', 'share');
  return path.join(base, 'onecli');
}

export function vaultPath(home: string): string {
  return path.join(home, 'vault.onecli');
}

export function auditDir(home: string): string {
  return path.join(home, 'audit');
}
