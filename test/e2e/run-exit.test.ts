import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoCanary, leftoverRunDirs, setupRun, waitForFile, type RunFixture } from './run-harness.js';

let fx: RunFixture;
beforeAll(async () => {
  fx = await setupRun();
});
afterAll(async () => fx.cleanup());

describe('onecli run exit codes and signals', () => {
  it.each([
    ['0', ['true'], 0],
    ['7', ['sh', '-c', 'exit 7'], 7],
    ['143 when SIGTERM ended the command', ['sh', '-c', 'kill -TERM $$'], 143],
  ] as const)('exits %s, and leaves no temp files', async (_label, command, code) => {
    const result = await fx.run(['--', ...command]);
    expect(result.code).toBe(code);
    expect(leftoverRunDirs(fx)).toEqual([]);
  });

  it('exits 127 when the command does not exist', async () => {
    const result = await fx.run(['--', 'onecli-no-such-command']);
    expect(result.code).toBe(127);
    expect(result.stderr).toContain('onecli: error: command not found: "onecli-no-such-command"');
    expect(leftoverRunDirs(fx)).toEqual([]);
  });

  it('exits 126 when the command cannot be executed', async () => {
    const script = path.join(fx.sandbox.dir, 'not-executable.sh');
    fs.writeFileSync(script, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    const result = await fx.run(['--', script]);
    expect(result.code).toBe(126);
    expect(leftoverRunDirs(fx)).toEqual([]);
  });

  it('exits 125 when onecli fails before the command starts', async () => {
    const unknown = await fx.run(['--secret', 'nope', '--', 'true']);
    expect(unknown.code).toBe(125);
    expect(unknown.stderr).toContain('onecli: error: no secret named "nope"');
    const badResolve = await fx.run(['--resolve', 'api.test.example:443', '--', 'true']);
    expect(badResolve.code).toBe(125);
    expect(badResolve.stderr).toContain('onecli: hint: the form is HOST:PORT:ADDR[:PORT2]');
    const noCommand = await fx.run(['--']);
    expect(noCommand.code).toBe(125);
    const wrongPassphrase = await fx.run(['--', 'true'], { env: fx.env({ ONECLI_PASSPHRASE: 'wrong' }) });
    expect(wrongPassphrase.code).toBe(125);
    expect(leftoverRunDirs(fx)).toEqual([]);
  });

  it('passes SIGTERM to the command, exits 128+15 when it dies of it, and removes its files', async () => {
    const ready = path.join(fx.out, 'sig-ready');
    const got = path.join(fx.out, 'sig-got');
    const live = fx.start([
      '--', 'sh', '-c',
      `trap 'echo TERM > ${got}; trap - TERM; kill -TERM $$' TERM; echo > ${ready}; while :; do sleep 0.05; done`,
    ]);
    await waitForFile(ready);
    expect(leftoverRunDirs(fx)).toHaveLength(1);
    live.child.kill('SIGTERM');
    const result = await live.done;
    expect(fs.readFileSync(got, 'utf8').trim()).toBe('TERM');
    expect(result.code).toBe(143);
    expect(leftoverRunDirs(fx)).toEqual([]);
    expectNoCanary(fx, { stdout: result.stdout, stderr: result.stderr });
  });

  it('kills a command that ignores SIGINT on the second SIGINT', async () => {
    const ready = path.join(fx.out, 'int-ready');
    const live = fx.start(['--', 'sh', '-c', `trap '' INT; echo > ${ready}; while :; do sleep 0.05; done`]);
    await waitForFile(ready);
    // Repeated until onecli exits: two signals sent back to back may be merged into one by the kernel.
    const repeat = setInterval(() => live.child.kill('SIGINT'), 100);
    live.child.kill('SIGINT');
    const result = await live.done.finally(() => clearInterval(repeat));
    expect(result.code).toBe(137);
    expect(leftoverRunDirs(fx)).toEqual([]);
  });
});
