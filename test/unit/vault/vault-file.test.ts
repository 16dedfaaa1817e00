import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isOnecliError, type OnecliError } from '../../../src/errors.js';
import { ensurePrivateDir, inspectPermissions, readVaultFile, writeFileAtomic } from '../../../src/vault/vault-file.js';
import { cleanEnv, makeSandbox, type Sandbox } from '../../support/cli.js';
import { compileVaultFile, type CompiledModules } from './compiled-module.js';

const mode = (file: string): number => fs.statSync(file).mode & 0o777;

function thrown(run: () => unknown): OnecliError {
  try {
    run();
  } catch (err) {
    if (isOnecliError(err)) return err;
    throw err;
  }
  throw new Error('expected a throw');
}

let sandbox: Sandbox;
beforeEach(() => {
  sandbox = makeSandbox('onecli-vault-file-');
});
afterEach(() => sandbox.cleanup());

describe('ensurePrivateDir', () => {
  it('creates missing folders 0700', () => {
    const dir = path.join(sandbox.onecliHome, 'nested');
    ensurePrivateDir(dir);
    expect(mode(sandbox.onecliHome)).toBe(0o700);
    expect(mode(dir)).toBe(0o700);
  });

  it('leaves an existing folder as it is, and refuses a file in the way', () => {
    fs.mkdirSync(sandbox.onecliHome, { mode: 0o755 });
    fs.chmodSync(sandbox.onecliHome, 0o755);
    ensurePrivateDir(sandbox.onecliHome);
    expect(mode(sandbox.onecliHome)).toBe(0o755);
    const file = path.join(sandbox.dir, 'plain-file');
    fs.writeFileSync(file, 'x');
    expect(thrown(() => ensurePrivateDir(file)).code).toBe('E_USAGE');
  });
});

describe('writeFileAtomic', () => {
  it('writes a 0600 file and leaves no temp file behind', () => {
    ensurePrivateDir(sandbox.onecliHome);
    const file = path.join(sandbox.onecliHome, 'vault.onecli');
    writeFileAtomic(file, Buffer.from('first'));
    expect(fs.readFileSync(file, 'utf8')).toBe('first');
    expect(mode(file)).toBe(0o600);
    expect(fs.readdirSync(sandbox.onecliHome)).toEqual(['vault.onecli']);
  });

  it('replaces a loose 0644 file with a 0600 one', () => {
    ensurePrivateDir(sandbox.onecliHome);
    const file = path.join(sandbox.onecliHome, 'vault.onecli');
    fs.writeFileSync(file, 'old', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    writeFileAtomic(file, Buffer.from('new'));
    expect(fs.readFileSync(file, 'utf8')).toBe('new');
    expect(mode(file)).toBe(0o600);
    expect(fs.readdirSync(sandbox.onecliHome)).toEqual(['vault.onecli']);
  });

  it('removes its temp file when the rename fails', () => {
    ensurePrivateDir(sandbox.onecliHome);
    const target = path.join(sandbox.onecliHome, 'occupied');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'inside'), 'x');
    const err = thrown(() => writeFileAtomic(target, Buffer.from('data')));
    expect(err.message).toContain(JSON.stringify(target));
    expect(fs.readdirSync(sandbox.onecliHome)).toEqual(['occupied']);
  });

  it('throws E_VAULT_NOT_FOUND when the folder is missing', () => {
    expect(thrown(() => writeFileAtomic(path.join(sandbox.dir, 'missing', 'vault.onecli'), Buffer.from('x'))).code).toBe('E_VAULT_NOT_FOUND');
  });
});

describe('readVaultFile', () => {
  let file: string;
  beforeEach(() => {
    ensurePrivateDir(sandbox.onecliHome);
    file = path.join(sandbox.onecliHome, 'vault.onecli');
  });

  it('reads a private vault', () => {
    writeFileAtomic(file, Buffer.from([1, 2, 3]));
    expect([...readVaultFile(file)]).toEqual([1, 2, 3]);
  });

  it('says to run onecli init when there is no vault', () => {
    const err = thrown(() => readVaultFile(file));
    expect(err.code).toBe('E_VAULT_NOT_FOUND');
    expect(err.hints.join(' ')).toContain('onecli init');
  });

  it('refuses a vault others can read or write, and changes nothing while refusing', () => {
    for (const loose of [0o644, 0o640, 0o604, 0o620, 0o602, 0o610]) {
      fs.writeFileSync(file, 'vault bytes');
      fs.chmodSync(file, loose);
      const past = new Date(Date.now() - 3_600_000);
      fs.utimesSync(file, past, past);
      const before = fs.statSync(file);
      const err = thrown(() => readVaultFile(file));
      expect(err.code).toBe('E_VAULT_PERMISSIONS');
      expect(err.hints).toContain(`chmod 600 ${file}`);
      const after = fs.statSync(file);
      expect(after.mtimeMs).toBe(before.mtimeMs);
      // A chmod would have moved ctime: the read really left the file alone.
      expect(after.ctimeMs).toBe(before.ctimeMs);
      expect(after.mode).toBe(before.mode);
      expect(fs.readFileSync(file, 'utf8')).toBe('vault bytes');
    }
  });

  it.runIf(process.getuid?.() === 0)('refuses a vault owned by another user', () => {
    writeFileAtomic(file, Buffer.from('x'));
    fs.chownSync(file, 4242, 4242);
    const err = thrown(() => readVaultFile(file));
    expect(err.code).toBe('E_VAULT_PERMISSIONS');
    expect(err.message).toContain('uid 4242');
  });

  it('refuses a folder where the vault should be', () => {
    fs.mkdirSync(file, { mode: 0o700 });
    expect(thrown(() => readVaultFile(file)).code).toBe('E_VAULT_CORRUPT');
  });
});

describe('inspectPermissions', () => {
  it('finds a private state folder, vault and audit log in order', () => {
    ensurePrivateDir(path.join(sandbox.onecliHome, 'audit'));
    writeFileAtomic(path.join(sandbox.onecliHome, 'vault.onecli'), Buffer.from('x'));
    writeFileAtomic(path.join(sandbox.onecliHome, 'audit', 'audit.jsonl'), Buffer.from('{}\n'));
    const findings = inspectPermissions(sandbox.onecliHome);
    expect(findings.map((f) => [path.relative(sandbox.onecliHome, f.path), f.mode, f.ok])).toEqual([
      ['', '0700', true],
      ['vault.onecli', '0600', true],
      ['audit', '0700', true],
      [path.join('audit', 'audit.jsonl'), '0600', true],
    ]);
  });

  it('reports a loose folder and vault with the command that fixes each', () => {
    fs.mkdirSync(sandbox.onecliHome);
    fs.chmodSync(sandbox.onecliHome, 0o755);
    const vault = path.join(sandbox.onecliHome, 'vault.onecli');
    fs.writeFileSync(vault, 'x');
    fs.chmodSync(vault, 0o644);
    const [folder, file] = inspectPermissions(sandbox.onecliHome);
    expect(folder).toMatchObject({ mode: '0755', ok: false });
    expect(folder?.problem).toContain(`chmod 700 ${sandbox.onecliHome}`);
    expect(file).toMatchObject({ mode: '0644', ok: false });
    expect(file?.problem).toContain(`chmod 600 ${vault}`);
  });

  it('reports a missing vault', () => {
    ensurePrivateDir(sandbox.onecliHome);
    expect(inspectPermissions(sandbox.onecliHome)[1]).toMatchObject({ ok: false, mode: '', problem: 'the file does not exist' });
  });
});

describe('writeFileAtomic under a crash', () => {
  let compiled: CompiledModules;
  beforeAll(() => {
    compiled = compileVaultFile();
  });
  afterAll(() => compiled.cleanup());

  it('leaves the previous or the next whole file when the writer is killed mid-stream', async () => {
    ensurePrivateDir(sandbox.onecliHome);
    const file = path.join(sandbox.onecliHome, 'vault.onecli');
    const a = Buffer.alloc(4 * 1024 * 1024, 'a');
    const b = Buffer.alloc(4 * 1024 * 1024, 'b');
    fs.writeFileSync(path.join(sandbox.dir, 'a'), a);
    fs.writeFileSync(path.join(sandbox.dir, 'b'), b);
    const script = path.join(sandbox.dir, 'writer.mjs');
    fs.writeFileSync(script, `
      import fs from 'node:fs';
      const { writeFileAtomic } = await import(${JSON.stringify(compiled.vaultFile)});
      const [file, a, b] = process.argv.slice(2);
      const contents = [fs.readFileSync(a), fs.readFileSync(b)];
      for (let i = 0; ; i++) {
        writeFileAtomic(file, contents[i % 2]);
        if (i === 3) process.stdout.write('going\\n');
      }
    `);
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, [script, file, path.join(sandbox.dir, 'a'), path.join(sandbox.dir, 'b')], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
      await Promise.race([
        new Promise<void>((resolve) => child.stdout.once('data', () => resolve())),
        closed.then(() => Promise.reject(new Error(`the writer exited early: ${stderr}`))),
      ]);
      // Kill at an arbitrary point of the write loop: mid-write, mid-fsync or mid-rename.
      await new Promise((resolve) => setTimeout(resolve, 5 + round * 7));
      child.kill('SIGKILL');
      await closed;
      const now = fs.readFileSync(file);
      expect(now.equals(a) || now.equals(b)).toBe(true);
      expect(mode(file)).toBe(0o600);
    }
    // A killed writer may leave a temp file (never under the vault's name); readers never look at it.
    const others = fs.readdirSync(sandbox.onecliHome).filter((name) => name !== 'vault.onecli');
    expect(others.every((name) => /^\.vault\.onecli\.[0-9a-f]{16}\.tmp$/.test(name))).toBe(true);
  });
});
