import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signalExitCode, spawnChild } from '../../../src/run/spawn-child.js';
import { cleanEnv, makeSandbox } from '../../support/cli.js';

const sandbox = makeSandbox('onecli-spawn-');
afterAll(() => sandbox.cleanup());

async function exitOf(command: string, args: string[]) {
  const child = spawnChild(command, args, { env: cleanEnv(), cwd: sandbox.dir });
  const exit = await child.exited;
  child.dispose();
  return exit;
}

describe('spawnChild', () => {
  it("returns the child's own exit code", async () => {
    expect((await exitOf('sh', ['-c', 'exit 0'])).exitCode).toBe(0);
    expect((await exitOf('sh', ['-c', 'exit 7'])).exitCode).toBe(7);
  });

  it('returns 128+N when signal N ended the child', async () => {
    const exit = await exitOf('sh', ['-c', 'kill -TERM $$']);
    expect(exit).toMatchObject({ exitCode: 143, signal: 'SIGTERM', code: null });
    expect(signalExitCode('SIGKILL')).toBe(137);
  });

  it('returns 127 for a command that does not exist and 126 for one that cannot be executed', async () => {
    expect(await exitOf('onecli-no-such-command-here', [])).toMatchObject({ exitCode: 127, spawnError: 'ENOENT' });
    const script = path.join(sandbox.dir, 'not-executable.sh');
    fs.writeFileSync(script, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    expect(await exitOf(script, [])).toMatchObject({ exitCode: 126, spawnError: 'EACCES' });
  });

  it('passes SIGTERM on to the child and stays alive to report how it ended', async () => {
    const marker = path.join(sandbox.dir, 'term-count');
    const child = spawnChild('sh', ['-c', `n=0; trap 'n=$((n+1)); echo $n > ${marker}; [ $n -ge 1 ] && exit 42' TERM; echo ready > ${marker}.ready; while :; do sleep 0.05; done`], {
      env: cleanEnv(),
      cwd: sandbox.dir,
    });
    while (!fs.existsSync(`${marker}.ready`)) await new Promise((r) => setTimeout(r, 20));
    process.kill(process.pid, 'SIGTERM');
    const exit = await child.exited;
    child.dispose();
    expect(exit.exitCode).toBe(42);
    expect(fs.readFileSync(marker, 'utf8').trim()).toBe('1');
  });

  it('kills the child on a second SIGINT', async () => {
    const ready = path.join(sandbox.dir, 'int-ready');
    const child = spawnChild('sh', ['-c', `trap '' INT; echo > ${ready}; while :; do sleep 0.05; done`], { env: cleanEnv(), cwd: sandbox.dir });
    while (!fs.existsSync(ready)) await new Promise((r) => setTimeout(r, 20));
    process.kill(process.pid, 'SIGINT');
    process.kill(process.pid, 'SIGINT');
    const exit = await child.exited;
    child.dispose();
    expect(exit).toMatchObject({ signal: 'SIGKILL', exitCode: 137 });
  });
});
