import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unlockVault } from '../../src/vault/store.js';
import { BIN, findCanary, makeCanary, makeSandbox, runCli, type Sandbox } from '../support/cli.js';

const PASSPHRASE = 'durability passphrase';

async function initVault(box: Sandbox, passphrase = PASSPHRASE): Promise<void> {
  const result = await runCli(['init'], { env: box.env({ ONECLI_PASSPHRASE: passphrase }) });
  expect(result.code).toBe(0);
}

const names = async (box: Sandbox, passphrase = PASSPHRASE): Promise<string[]> =>
  (await unlockVault({ home: box.onecliHome, passphrase })).contents.secrets.map((s) => s.name).sort();

/** Spawns the CLI and SIGKILLs it after delayMs (if it is still running). */
function killAfter(args: string[], env: NodeJS.ProcessEnv, input: string, delayMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

describe('the vault under concurrent writers, crashes and corruption', () => {
  let box: Sandbox;
  const canary = makeCanary('sk-ant-');

  beforeAll(() => {
    box = makeSandbox('onecli-durability-');
  });
  afterAll(() => {
    expect(findCanary(canary, {}, [box.dir])).toEqual([]);
    box.cleanup();
  });

  it('keeps every secret when 20 processes run `secret add` at once', async () => {
    const home = path.join(box.dir, 'race');
    const raceBox = { ...box, onecliHome: home, env: (extra: Record<string, string | undefined> = {}) => box.env({ ONECLI_HOME: home, ...extra }) };
    await initVault(raceBox);
    const env = raceBox.env({ ONECLI_PASSPHRASE: PASSPHRASE });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => runCli(['secret', 'add', `racer-${i}`, '--host', `api${i}.example.com`], { env, input: `${canary}-${i}` })),
    );
    expect(results.map((r) => r.code)).toEqual(Array(20).fill(0));
    expect(await names(raceBox)).toEqual(Array.from({ length: 20 }, (_, i) => `racer-${i}`).sort());
    expect(results.map((r) => r.stderr + r.stdout).join('')).not.toContain(canary);
  });

  it('always opens to the old or the new state when `secret add` and `rotate --master` are killed at random moments (60 trials)', async () => {
    const home = path.join(box.dir, 'crash');
    const crashBox = { ...box, onecliHome: home, env: (extra: Record<string, string | undefined> = {}) => box.env({ ONECLI_HOME: home, ...extra }) };
    let passphrase = 'crash-0';
    await initVault(crashBox, passphrase);
    let expected: string[] = [];
    const outcomes = { killed: 0, completed: 0 };
    // The kill window follows how long the commands take on this machine now (a loaded CI machine is slower):
    // wider after a kill, narrower after a completion, so both outcomes keep happening.
    let span = 700;
    const note = (signal: NodeJS.Signals | null): void => {
      const killed = signal === 'SIGKILL';
      outcomes[killed ? 'killed' : 'completed']++;
      span = killed ? span * 1.3 : Math.max(200, span * 0.85);
    };
    for (let trial = 0; trial < 60; trial++) {
      // Delays spread over the whole life of the command: start-up, the KDF, the locked write, exit.
      const delay = Math.floor(Math.random() * span);
      if (trial % 2 === 0) {
        const name = `crash-${trial}`;
        const result = await killAfter(['secret', 'add', name, '--host', 'api.example.com'], crashBox.env({ ONECLI_PASSPHRASE: passphrase }), `${canary}-${trial}`, delay);
        note(result.signal);
        const now = await names(crashBox, passphrase);
        const next = [...expected, name].sort();
        expect([expected, next]).toContainEqual(now);
        expected = now;
      } else {
        const nextPassphrase = `crash-${trial}`;
        const env = crashBox.env({ ONECLI_PASSPHRASE: passphrase, ONECLI_NEW_PASSPHRASE: nextPassphrase });
        const result = await killAfter(['rotate', '--master'], env, '', delay);
        note(result.signal);
        const opened = await Promise.allSettled([names(crashBox, passphrase), names(crashBox, nextPassphrase)]);
        const winners = opened.filter((o) => o.status === 'fulfilled');
        expect(winners).toHaveLength(1);
        expect((winners[0] as PromiseFulfilledResult<string[]>).value).toEqual(expected);
        if (opened[1].status === 'fulfilled') passphrase = nextPassphrase;
      }
      const leftovers = fs.readdirSync(home).filter((f) => f.endsWith('.tmp'));
      // A temp file of a killed writer may remain; it is never the vault and never holds plaintext.
      for (const f of leftovers) fs.rmSync(path.join(home, f));
    }
    // Both kinds of outcome happened, so the trials really interrupted commands and really let some finish.
    expect(outcomes.killed).toBeGreaterThan(0);
    expect(outcomes.completed).toBeGreaterThan(0);
  }, 300_000);

  it('answers E_VAULT_CORRUPT for every flipped byte of a small vault, never crashes, never changes the file', async () => {
    const home = path.join(box.dir, 'flip');
    const flipBox = { ...box, onecliHome: home, env: (extra: Record<string, string | undefined> = {}) => box.env({ ONECLI_HOME: home, ...extra }) };
    await initVault(flipBox);
    const file = path.join(home, 'vault.onecli');
    const pristine = fs.readFileSync(file);
    const env = flipBox.env({ ONECLI_PASSPHRASE: PASSPHRASE });
    const failures: string[] = [];
    const positions = Array.from({ length: pristine.length }, (_, i) => i);
    // Two at a time (two cores): each attempt is a fresh CLI process, as a user would run it.
    for (let i = 0; i < positions.length; i += 2) {
      const batch = positions.slice(i, i + 2);
      await Promise.all(
        batch.map(async (pos) => {
          const dir = path.join(box.dir, `flip-${pos}`);
          fs.mkdirSync(dir, { mode: 0o700 });
          const damaged = Buffer.from(pristine);
          damaged[pos] = damaged[pos]! ^ 0xff;
          fs.writeFileSync(path.join(dir, 'vault.onecli'), damaged, { mode: 0o600 });
          const result = await runCli(['secret', 'list', '--json'], { env: { ...env, ONECLI_HOME: dir } });
          const code = result.stdout ? (JSON.parse(result.stdout) as { error?: { code: string } }).error?.code : undefined;
          if (result.code !== 5 || code !== 'E_VAULT_CORRUPT' || /\n\s+at /.test(result.stderr)) failures.push(`byte ${pos}: exit ${result.code} ${code}`);
          if (!fs.readFileSync(path.join(dir, 'vault.onecli')).equals(damaged)) failures.push(`byte ${pos}: file changed`);
          fs.rmSync(dir, { recursive: true });
        }),
      );
    }
    expect(failures).toEqual([]);
    expect(fs.readFileSync(file).equals(pristine)).toBe(true);
  }, 600_000);

  it('answers E_VAULT_CORRUPT for a truncated vault and leaves it as it was', async () => {
    const home = path.join(box.dir, 'flip');
    const file = path.join(home, 'vault.onecli');
    const pristine = fs.readFileSync(file);
    for (const length of [0, 3, 40, pristine.length - 1]) {
      fs.writeFileSync(file, pristine.subarray(0, length));
      const result = await runCli(['secret', 'list', '--json'], { env: box.env({ ONECLI_HOME: home, ONECLI_PASSPHRASE: PASSPHRASE }) });
      expect(JSON.parse(result.stdout).error.code).toBe('E_VAULT_CORRUPT');
      expect(fs.readFileSync(file).equals(pristine.subarray(0, length))).toBe(true);
    }
  });
});
