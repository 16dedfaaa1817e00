import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, findCanary, makeCanary, makeSandbox, runCli, runProcess, type Sandbox } from '../support/cli.js';
import { secretServiceAvailable, startSecretService, type SecretService } from '../support/secret-service.js';

// In CI these tests must run (.ci/run installs gnome-keyring); elsewhere they skip only when the tools are absent.
const available = secretServiceAvailable();
if (!available && process.env['CI'] === 'true') throw new Error('CI=true but dbus-daemon/gnome-keyring-daemon are missing');

describe.skipIf(!available)('a keychain vault on a real Secret Service (gnome-keyring on a private D-Bus)', () => {
  let box: Sandbox;
  let service: SecretService;
  const canary = makeCanary('ghp_');
  const outputs: Record<string, string> = {};
  const env = () => box.env({ ...service.env, HOME: box.home, ONECLI_HOME: box.onecliHome });
  const cli = async (label: string, args: string[], input?: string) => {
    const result = await runCli(args, { env: env(), ...(input === undefined ? {} : { input }) });
    outputs[`${label} stdout`] = result.stdout;
    outputs[`${label} stderr`] = result.stderr;
    return result;
  };
  const lookup = (id: string) => runProcess('secret-tool', ['lookup', 'service', 'onecli', 'username', id], { env: env() });

  beforeAll(async () => {
    box = makeSandbox('onecli-keychain-');
    service = await startSecretService(box.dir);
  });
  afterAll(() => {
    service.stop();
    expect(findCanary(canary, outputs, [box.onecliHome])).toEqual([]);
    box.cleanup();
  });

  let vaultId = '';

  it('init stores a 256-bit master key under service "onecli" and the vault id', async () => {
    const result = await cli('init', ['init', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const vault = JSON.parse(result.stdout).vault;
    expect(vault.master).toBe('keychain');
    vaultId = vault.id;
    const stored = await lookup(vaultId);
    expect(stored.code).toBe(0);
    expect(Buffer.from(stored.stdout.trim(), 'base64')).toHaveLength(32);
  });

  it('adds a secret and reopens the vault with the key from the keychain', async () => {
    expect((await cli('add', ['secret', 'add', 'github'], canary)).code).toBe(0);
    const listed = await cli('list', ['secret', 'list', '--json']);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).secrets.map((s: { name: string }) => s.name)).toEqual(['github']);
  });

  it('rotate --master moves the vault to a new key and id, and removes the old keychain item', async () => {
    const before = fs.readFileSync(path.join(box.onecliHome, 'vault.onecli'));
    const result = await cli('rotate master', ['rotate', '--master', '--json']);
    expect(result.code).toBe(0);
    const after = JSON.parse(result.stdout).vault;
    expect(after.id).not.toBe(vaultId);
    expect(fs.readFileSync(path.join(box.onecliHome, 'vault.onecli')).equals(before)).toBe(false);
    expect((await lookup(after.id)).code).toBe(0);
    expect((await lookup(vaultId)).stdout).toBe('');
    const listed = await cli('list after', ['secret', 'list', '--json']);
    expect(JSON.parse(listed.stdout).secrets).toHaveLength(1);
  });

  it('a rotate --master killed at random moments always leaves a vault whose keychain item opens it (15 trials)', async () => {
    let completed = 0;
    let killed = 0;
    // The kill window follows how long rotate takes on this machine now: wider after a kill, narrower after a completion.
    let span = 600;
    for (let trial = 0; trial < 15; trial++) {
      const result = await new Promise<{ signal: NodeJS.Signals | null }>((resolve) => {
        const child = spawn(process.execPath, [BIN, 'rotate', '--master'], { env: env(), stdio: 'ignore' });
        const timer = setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * span));
        child.on('close', (_code, signal) => {
          clearTimeout(timer);
          resolve({ signal });
        });
      });
      if (result.signal === 'SIGKILL') {
        killed++;
        span *= 1.3;
      } else {
        completed++;
        span = Math.max(200, span * 0.85);
      }
      const listed = await cli(`list after kill ${trial}`, ['secret', 'list', '--json']);
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout).secrets.map((s: { name: string }) => s.name)).toEqual(['github']);
    }
    expect(killed).toBeGreaterThan(0);
    expect(completed).toBeGreaterThan(0);
  }, 120_000);

  it('doctor sees the keychain and the vault entry', async () => {
    const result = await cli('doctor', ['doctor', '--json']);
    const checks = JSON.parse(result.stdout).checks as Array<{ name: string; status: string }>;
    expect(checks.find((c) => c.name === 'keychain')?.status).toBe('ok');
    expect(checks.find((c) => c.name === 'keychain entry')?.status).toBe('ok');
  });
});

describe('no Secret Service and no passphrase', () => {
  it.each([
    ['no D-Bus session at all', {}],
    ['a D-Bus address nobody listens on', { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/onecli-bus' }],
  ])('%s: init fails with E_KEYCHAIN_UNAVAILABLE naming both ways out, and writes no vault', async (_label, extra) => {
    const box = makeSandbox();
    try {
      // A hang guard, not a speed assertion: runCli kills the CLI after 5 s, which shows as a signal below.
      const result = await runCli(['init', '--json'], { env: box.env(extra), timeoutMs: 5_000 });
      const error = JSON.parse(result.stdout).error;
      expect(result.code).toBe(7);
      expect(error.code).toBe('E_KEYCHAIN_UNAVAILABLE');
      expect(error.hints.join(' ')).toMatch(/Secret Service/);
      expect(error.hints.join(' ')).toMatch(/--passphrase|ONECLI_PASSPHRASE/);
      expect(fs.existsSync(path.join(box.onecliHome, 'vault.onecli'))).toBe(false);
      expect(result.signal).toBeNull();
    } finally {
      box.cleanup();
    }
  });
});
