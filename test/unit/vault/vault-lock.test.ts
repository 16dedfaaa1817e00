import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensurePrivateDir, withVaultLock } from '../../../src/vault/vault-file.js';
import { cleanEnv, makeSandbox, runProcess, type Sandbox } from '../../support/cli.js';
import { compileVaultFile, type CompiledModules } from './compiled-module.js';

let sandbox: Sandbox;
let vault: string;
beforeEach(() => {
  sandbox = makeSandbox('onecli-vault-lock-');
  ensurePrivateDir(sandbox.onecliHome);
  vault = path.join(sandbox.onecliHome, 'vault.onecli');
});
afterEach(() => sandbox.cleanup());

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('withVaultLock in one process', () => {
  it('runs concurrent critical sections one at a time and loses no update', async () => {
    fs.writeFileSync(vault, '0');
    let inside = 0;
    let overlaps = 0;
    await Promise.all(
      Array.from({ length: 12 }, () =>
        withVaultLock(vault, async () => {
          inside++;
          if (inside > 1) overlaps++;
          const value = Number(fs.readFileSync(vault, 'utf8'));
          await tick();
          await tick();
          fs.writeFileSync(vault, String(value + 1));
          inside--;
        }),
      ),
    );
    expect(overlaps).toBe(0);
    expect(fs.readFileSync(vault, 'utf8')).toBe('12');
  });

  it('locks a vault that does not exist yet, with a 0700 lock folder that is gone afterwards', async () => {
    const seen = await withVaultLock(vault, () => Promise.resolve(fs.statSync(`${vault}.lock`).mode & 0o777));
    expect(seen).toBe(0o700);
    expect(fs.existsSync(vault)).toBe(false);
    expect(fs.readdirSync(sandbox.onecliHome)).toEqual([]);
  });

  it('releases the lock when the critical section throws', async () => {
    await expect(withVaultLock(vault, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(fs.existsSync(`${vault}.lock`)).toBe(false);
    await expect(withVaultLock(vault, () => Promise.resolve('again'))).resolves.toBe('again');
  });

  it('gives up with E_VAULT_LOCKED and names the lock folder when another holder does not finish', async () => {
    let letGo!: () => void;
    const holding = withVaultLock(vault, () => new Promise<void>((resolve) => (letGo = resolve)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(withVaultLock(vault, () => Promise.resolve(), { waitMs: 300 })).rejects.toMatchObject({
      code: 'E_VAULT_LOCKED',
      hints: expect.arrayContaining([expect.stringContaining(`${vault}.lock`)]) as unknown,
    });
    letGo();
    await holding;
  });

  it('takes over a lock left by a crashed process', async () => {
    fs.mkdirSync(`${vault}.lock`, { mode: 0o700 });
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(`${vault}.lock`, old, old);
    await expect(withVaultLock(vault, () => Promise.resolve('taken'), { waitMs: 1_000 })).resolves.toBe('taken');
  });

  it('tells the critical section and the caller when the lock was lost, without crashing the process', async () => {
    const result = withVaultLock(vault, async (lock) => {
      // Someone removes the lock folder (e.g. a user following the stale-lock hint while we still run).
      fs.rmdirSync(`${vault}.lock`);
      // proper-lockfile notices on its next refresh, about 5 s later.
      for (let waited = 0; !lock.lost && waited < 20_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
      return lock.lost;
    });
    await expect(result).rejects.toMatchObject({ code: 'E_VAULT_LOCKED', message: expect.stringContaining('lost the vault lock') as unknown });
  });
});

describe('withVaultLock across processes', () => {
  let compiled: CompiledModules;
  beforeAll(() => {
    compiled = compileVaultFile();
  });
  afterAll(() => compiled.cleanup());

  it('lets 20 racing processes through one at a time with no lost update', async () => {
    const counter = path.join(sandbox.onecliHome, 'counter');
    const inside = path.join(sandbox.onecliHome, 'inside');
    fs.writeFileSync(counter, '0');
    const script = path.join(sandbox.dir, 'increment.mjs');
    // Each child takes the real lock, checks nobody else is inside (O_EXCL marker), and does a read-modify-write
    // with the real atomic writer, three times.
    fs.writeFileSync(script, `
      import fs from 'node:fs';
      const { withVaultLock, writeFileAtomic } = await import(${JSON.stringify(compiled.vaultFile)});
      const [vault, counter, inside] = process.argv.slice(2);
      for (let round = 0; round < 3; round++) {
        await withVaultLock(vault, async () => {
          fs.closeSync(fs.openSync(inside, 'wx'));
          const value = Number(fs.readFileSync(counter, 'utf8'));
          await new Promise((resolve) => setTimeout(resolve, 2));
          writeFileAtomic(counter, Buffer.from(String(value + 1)));
          fs.unlinkSync(inside);
        });
      }
    `);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => runProcess(process.execPath, [script, vault, counter, inside], { env: cleanEnv(), timeoutMs: 55_000 })),
    );
    for (const result of results) expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(fs.readFileSync(counter, 'utf8')).toBe('60');
    expect(fs.existsSync(`${vault}.lock`)).toBe(false);
  });
});
