import { spawn, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'run.js');

/**
 * These machines export CA and proxy variables globally; every spawned process gets an environment built here
 * from scratch, never the test runner's own.
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
  };
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export interface Sandbox {
  dir: string;
  home: string;
  onecliHome: string;
  env(extra?: Record<string, string | undefined>): NodeJS.ProcessEnv;
  cleanup(): void;
}

/** A temp dir holding HOME and ONECLI_HOME. Passphrase vaults by default; keychain tests pass their own env. */
export function makeSandbox(prefix = 'onecli-test-'): Sandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const home = path.join(dir, 'home');
  const onecliHome = path.join(dir, 'state');
  fs.mkdirSync(home, { recursive: true });
  return {
    dir,
    home,
    onecliHome,
    env: (extra = {}) => cleanEnv({ HOME: home, ONECLI_HOME: onecliHome, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_CACHE_HOME: path.join(home, '.cache'), ...extra }),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  input?: string | Buffer;
  cwd?: string;
  timeoutMs?: number;
}

/** Runs a command to completion, collecting its output. */
export function runProcess(command: string, args: readonly string[], options: RunOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const spawnOptions: SpawnOptions = { env: options.env, cwd: options.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] };
    const child = spawn(command, args, spawnOptions);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input ?? '');
  });
}

/** Runs the built CLI the way a user does: `node bin/run.js ARGS`. */
export function runCli(args: readonly string[], options: RunOptions): Promise<CliResult> {
  return runProcess(process.execPath, [BIN, ...args], options);
}

/** Every file below dir, read whole (for canary greps). */
export function readAllFiles(dir: string): Array<{ file: string; content: Buffer }> {
  const found: Array<{ file: string; content: Buffer }> = [];
  const walk = (current: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(current, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        try {
          found.push({ file: full, content: fs.readFileSync(full) });
        } catch {
          // vanished or unreadable: nothing to grep
        }
      }
    }
  };
  walk(dir);
  return found;
}

/** A canary: a random, recognisable value planted as a secret and grepped for everywhere the test can reach. */
export function makeCanary(prefix = 'sk_live_'): string {
  return `${prefix}CANARY${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
}

/** Fails when the canary (raw, or base64 as HTTP Basic would carry it) appears in any of the texts or files. */
export function findCanary(canary: string, texts: Record<string, string | Buffer>, dirs: readonly string[] = []): string[] {
  const needles = [Buffer.from(canary), Buffer.from(Buffer.from(canary).toString('base64'))];
  const hits: string[] = [];
  for (const [label, text] of Object.entries(texts)) {
    const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
    if (needles.some((needle) => buf.includes(needle))) hits.push(label);
  }
  for (const dir of dirs) {
    for (const { file, content } of readAllFiles(dir)) {
      if (needles.some((needle) => content.includes(needle))) hits.push(file);
    }
  }
  return hits;
}
