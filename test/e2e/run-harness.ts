/**
 * Shared set-up for the `onecli run` end-to-end suites: a sandbox with a passphrase vault holding one canary secret
 * ("demo", for api.test.example, env DEMO_KEY), a real TLS upstream on loopback with its own test CA (which onecli
 * trusts through its own NODE_EXTRA_CA_CERTS), and helpers to run the built CLI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { BIN, ROOT, findCanary, makeCanary, makeSandbox, runCli, runProcess, type CliResult, type Sandbox } from '../support/cli.js';
import { startUpstream, type Upstream } from '../support/tls-upstream.js';

export const HOST = 'api.test.example';
export const OTHER = 'other.test.example';
export const AGENTS = path.join(ROOT, 'test', 'e2e', 'agents');
export const PASSPHRASE = 'correct horse battery staple';

export interface RunFixture {
  sandbox: Sandbox;
  upstream: Upstream;
  canary: string;
  /** agents write their env dumps and markers here ($AGENT_OUT) */
  out: string;
  /** onecli's TMPDIR: the run's temp folder is made here, so a test can see it is gone */
  tmp: string;
  env(extra?: Record<string, string | undefined>): NodeJS.ProcessEnv;
  /** --resolve for api.test.example and other.test.example, HTTPS and plain HTTP, to the upstream */
  resolveArgs: string[];
  /** `onecli run --resolve … ARGS` to completion */
  run(args: readonly string[], options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliResult>;
  /** `onecli run` as a live process (for signals, RSS samples, acting during the run) */
  start(args: readonly string[]): LiveCli;
  cleanup(): Promise<void>;
}

export interface LiveCli {
  child: ChildProcess;
  done: Promise<CliResult>;
}

export async function setupRun(): Promise<RunFixture> {
  const sandbox = makeSandbox('onecli-run-e2e-');
  const upstream = await startUpstream({ hostnames: [HOST, OTHER] });
  const canary = makeCanary();
  const out = path.join(sandbox.dir, 'agent-out');
  const tmp = path.join(sandbox.dir, 'tmp');
  fs.mkdirSync(out);
  fs.mkdirSync(tmp);
  const caFile = path.join(sandbox.dir, 'upstream-ca.pem');
  fs.writeFileSync(caFile, upstream.caPem);
  const env = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv =>
    sandbox.env({
      ONECLI_PASSPHRASE: PASSPHRASE,
      NODE_EXTRA_CA_CERTS: caFile,
      AGENT_OUT: out,
      TMPDIR: tmp,
      GOCACHE: path.join(sandbox.dir, 'go-cache'),
      GOPATH: path.join(sandbox.dir, 'go-path'),
      GOFLAGS: '-modcacherw',
      GO111MODULE: 'auto',
      GOTOOLCHAIN: 'local',
      ...extra,
    });

  const init = await runCli(['init'], { env: env() });
  expect(init.stderr).not.toContain('error');
  expect(init.code).toBe(0);
  const add = await runCli(['secret', 'add', 'demo', '--host', HOST, '--header', 'Authorization: Bearer {value}', '--env', 'DEMO_KEY'], {
    env: env(),
    input: canary,
  });
  expect(add.code).toBe(0);

  const resolveArgs = [
    '--resolve', `${HOST}:443:127.0.0.1:${upstream.port}`,
    '--resolve', `${OTHER}:443:127.0.0.1:${upstream.port}`,
    '--resolve', `${HOST}:80:127.0.0.1:${upstream.httpPort}`,
    '--resolve', `${OTHER}:80:127.0.0.1:${upstream.httpPort}`,
  ];
  return {
    sandbox,
    upstream,
    canary,
    out,
    tmp,
    env,
    resolveArgs,
    run: (args, options = {}) =>
      runCli(['run', ...resolveArgs, ...args], { env: options.env ?? env(), cwd: sandbox.dir, timeoutMs: options.timeoutMs ?? 60_000 }),
    start: (args) => startCli(['run', ...resolveArgs, ...args], env(), sandbox.dir),
    cleanup: async () => {
      await upstream.close();
      sandbox.cleanup();
    },
  };
}

export function startCli(args: readonly string[], env: NodeJS.ProcessEnv, cwd: string): LiveCli {
  const child = spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
  });
  return { child, done };
}

export async function waitForFile(file: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${path.basename(file)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The environment an agent dumped (env-<name>.json). */
export function readEnvDump(fixture: RunFixture, name: string): Record<string, string> {
  return JSON.parse(fs.readFileSync(path.join(fixture.out, `env-${name}.json`), 'utf8')) as Record<string, string>;
}

/** The last request the upstream received for a path (url without query). */
export function lastRequestTo(upstream: Upstream, pathname: string) {
  return upstream.requests.filter((r) => r.url.split('?')[0] === pathname).at(-1);
}

/** Every process's argv on the machine, for the canary grep. */
export async function processArgs(): Promise<string> {
  const ps = await runProcess('ps', ['-eo', 'args'], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
  return ps.stdout;
}

/** The canary must be nowhere the test can reach: outputs given, ONECLI_HOME and the whole sandbox. */
export function expectNoCanary(fixture: RunFixture, texts: Record<string, string | Buffer>): void {
  expect(findCanary(fixture.canary, texts, [fixture.sandbox.dir])).toEqual([]);
}

/** No `onecli-run-*` folder is left in onecli's TMPDIR. */
export function leftoverRunDirs(fixture: RunFixture): string[] {
  return fs.readdirSync(fixture.tmp).filter((name) => name.startsWith('onecli-run-'));
}
