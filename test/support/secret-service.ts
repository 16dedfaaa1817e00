import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cleanEnv } from './cli.js';

/**
 * A private D-Bus session bus with gnome-keyring's Secret Service, unlocked, for the real-keychain tests. Nothing
 * from the developer's own session is reachable: the bus, HOME and XDG_RUNTIME_DIR all live in `dir`.
 */
export interface SecretService {
  env: Record<string, string>;
  stop(): void;
}

export function secretServiceAvailable(): boolean {
  return ['dbus-daemon', 'gnome-keyring-daemon', 'dbus-send'].every((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0);
}

function hasSecretsName(env: NodeJS.ProcessEnv): boolean {
  const probe = spawnSync(
    'dbus-send',
    ['--session', '--dest=org.freedesktop.DBus', '--print-reply', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', 'string:org.freedesktop.secrets'],
    { env, encoding: 'utf8', timeout: 5_000 },
  );
  return probe.status === 0 && probe.stdout.includes('boolean true');
}

export async function startSecretService(dir: string): Promise<SecretService> {
  const home = path.join(dir, 'keyring-home');
  const runtime = path.join(dir, 'keyring-run');
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const base = cleanEnv({ HOME: home, XDG_RUNTIME_DIR: runtime, XDG_DATA_HOME: path.join(home, '.local/share') });
  const bus = spawnSync('dbus-daemon', ['--session', '--fork', '--nopidfile', '--print-address=1', '--print-pid=1'], { env: base, encoding: 'utf8', timeout: 10_000 });
  const [address, pidText] = bus.stdout.trim().split('\n');
  if (bus.status !== 0 || !address || !pidText) throw new Error(`dbus-daemon did not start: ${bus.stderr}`);
  const busPid = Number(pidText);
  const env = { ...base, DBUS_SESSION_BUS_ADDRESS: address } as Record<string, string>;
  const keyring: ChildProcess = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], { env, stdio: ['pipe', 'ignore', 'ignore'] });
  keyring.stdin!.end('test-keyring-password');
  const stop = (): void => {
    keyring.kill('SIGKILL');
    try {
      process.kill(busPid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  for (let i = 0; i < 100 && !hasSecretsName(env); i++) await new Promise((r) => setTimeout(r, 50));
  if (!hasSecretsName(env)) {
    stop();
    throw new Error('gnome-keyring-daemon did not register org.freedesktop.secrets on the private bus');
  }
  return { env, stop };
}
