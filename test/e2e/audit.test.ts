import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, findCanary, makeCanary, makeSandbox, runCli, runProcess, type Sandbox } from '../support/cli.js';
import { compileAuditModules } from '../unit/audit/support.js';

/** End to end: real vault commands write the events, the built CLI reads and verifies them. */
const built = fs.existsSync(path.join(ROOT, 'dist', 'commands', 'init.js')) && fs.existsSync(path.join(ROOT, 'dist', 'commands', 'audit', 'tail.js'));
const runBuilt = fs.existsSync(path.join(ROOT, 'dist', 'proxy', 'proxy.js'));
const PASSPHRASE = 'correct horse audit staple';

describe.skipIf(!built)('onecli audit tail / verify', () => {
  let sb: Sandbox;
  let canary: string;
  const outputs: Record<string, string> = {};
  const cli = async (label: string, args: string[], extra: Record<string, string> = {}, input?: string) => {
    const result = await runCli(args, { env: sb.env({ ONECLI_PASSPHRASE: PASSPHRASE, ...extra }), ...(input === undefined ? {} : { input }) });
    outputs[`${label} stdout`] = result.stdout;
    outputs[`${label} stderr`] = result.stderr;
    return result;
  };

  beforeAll(async () => {
    sb = makeSandbox();
    canary = makeCanary();
    expect((await cli('init', ['init'])).code).toBe(0);
    expect((await cli('add', ['secret', 'add', 'stripe'], {}, canary)).code).toBe(0);
    expect((await cli('add2', ['secret', 'add', 'github'], {}, `${canary}-gh`)).code).toBe(0);
    expect((await cli('rotate', ['rotate', 'stripe'], {}, `${canary}-2`)).code).toBe(0);
    expect((await cli('rm', ['secret', 'rm', 'github'])).code).toBe(0);
    expect((await cli('master', ['rotate', '--master'], { ONECLI_NEW_PASSPHRASE: `${PASSPHRASE} 2` })).code).toBe(0);
  });
  afterAll(() => {
    expect(findCanary(canary, outputs, [sb.dir])).toEqual([]);
    sb.cleanup();
  });

  it('lists the events of real CLI runs as JSON lines', async () => {
    const result = await cli('tail json', ['audit', 'tail', '--json']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(events.map((e) => [e.event, e.secret ?? null, e.version ?? null])).toEqual([
      ['secret.add', 'stripe', 1], ['secret.add', 'github', 1], ['secret.rotate', 'stripe', 2], ['secret.remove', 'github', null], ['master.rotate', null, null],
    ]);
    for (const e of events) {
      expect(e).toMatchObject({ seq: 0, prev: 'start', final: true, agent: expect.arrayContaining(['onecli']) });
      expect(e.ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
  });

  it('prints an aligned table without colour when stdout is not a terminal, and filters', async () => {
    const table = await cli('tail', ['audit', 'tail', '-n', '2']);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^TIME \(UTC\) +SESSION +EVENT +DECISION +STATUS +TARGET +SECRETS +DETAIL$/);
    expect(lines[1]).toMatch(/secret\.remove +github$/);
    expect(lines[2]).toMatch(/master\.rotate .* new master key \(passphrase\)$/);
    expect(lines[1]!.indexOf('secret.remove')).toBe(lines[0]!.indexOf('EVENT'));
    expect(table.stdout.includes('\u001b[')).toBe(false);
    const filtered = await cli('tail secret', ['audit', 'tail', '--secret', 'stripe', '--json']);
    expect(filtered.stdout.trim().split('\n').map((line) => JSON.parse(line).event)).toEqual(['secret.add', 'secret.rotate']);
    const since = await cli('tail since', ['audit', 'tail', '--since', '1d', '--json']);
    expect(since.stdout.trim().split('\n')).toHaveLength(5);
    const bad = await cli('tail bad since', ['audit', 'tail', '--since', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^onecli: error: --since "yesterday" is neither a duration nor a date\nonecli: hint: /);
  });

  it('verifies the untouched log, then names the edited line', async () => {
    const env = { ONECLI_PASSPHRASE: `${PASSPHRASE} 2` };
    const ok = await cli('verify', ['audit', 'verify'], env);
    expect(ok).toMatchObject({ code: 0, stdout: 'audit log OK: 1 file(s), 5 session(s), 5 event(s)\n' });
    const json = await cli('verify json', ['audit', 'verify', '--json'], env);
    expect(JSON.parse(json.stdout)).toEqual({ ok: true, files: 1, sessions: 5, events: 5, open: 0 });

    const file = path.join(sb.onecliHome, 'audit', 'audit.jsonl');
    const original = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, original.replace('"version":2', '"version":3'));
    const bad = await cli('verify bad', ['audit', 'verify'], env);
    expect(bad.code).toBe(20);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^onecli: error: audit log line 3 of audit\.jsonl: the MAC does not match: the line was edited, or forged without the key\nonecli: hint: /);
    const badJson = await cli('verify bad json', ['audit', 'verify', '--json'], env);
    expect(JSON.parse(badJson.stdout)).toEqual({ error: { code: 'E_AUDIT_INVALID', message: expect.stringMatching(/^audit log line 3 of audit\.jsonl: /), hints: [expect.any(String)] } });
    fs.writeFileSync(file, original);
  });

  it.skipIf(!runBuilt)('records a run as session.start and session.end with its exit code', async () => {
    const run = await cli('run', ['run', '--', process.execPath, '-e', 'process.exit(3)'], { ONECLI_PASSPHRASE: `${PASSPHRASE} 2` });
    expect(run).toMatchObject({ code: 3, stderr: '' });
    const events = (await cli('tail run', ['audit', 'tail', '-n', '2', '--json'])).stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(events[0]).toMatchObject({ event: 'session.start', seq: 0, secrets: ['stripe'], proxy_port: expect.any(Number), pid: expect.any(Number) });
    expect(events[1]).toMatchObject({ event: 'session.end', session: events[0].session, seq: 1, exit_code: 3, signal: null, requests: { injected: 0 } });
  });
});

describe.skipIf(!built)('onecli audit tail -f', () => {
  it('shows a line written by another process within a second, also across a rollover, and ends on Ctrl-C with 0', async () => {
    const sb = makeSandbox();
    const compiled = compileAuditModules();
    const key = Buffer.alloc(32, 7).toString('hex');
    const write = (count: number, tag: string) =>
      runProcess(process.execPath, ['--input-type=module', '-e', `
        const { AuditWriter } = await import(${JSON.stringify(compiled.writerUrl)});
        const w = AuditWriter.open({ home: process.env.ONECLI_HOME, key: Buffer.from(${JSON.stringify(key)}, 'hex'), agent: ['writer'] });
        for (let i = 0; i < ${count}; i++) w.append({ event: 'request', method: 'GET', host: 'api.example.com', port: 443, path: '/${tag}/' + i,
          status: 200, decision: 'passthrough', secrets: [], bytes_in: 1, bytes_out: 1, duration_ms: 1 });
        w.append({ event: 'session.end', exit_code: 0, signal: null });`], { env: sb.env({ ONECLI_AUDIT_MAX_BYTES: '4096' }) });
    let follower: ChildProcessWithoutNullStreams | undefined;
    try {
      expect((await write(3, 'before')).code).toBe(0);
      const child = spawn(process.execPath, [BIN, 'audit', 'tail', '-f', '-n', '1'], { env: sb.env(), cwd: ROOT, stdio: 'pipe' });
      follower = child;
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      const appears = (text: string, ms: number) =>
        new Promise<void>((resolve, reject) => {
          const deadline = Date.now() + ms;
          const timer = setInterval(() => {
            if (out.includes(text)) resolve(clearInterval(timer));
            else if (Date.now() > deadline) {
              clearInterval(timer);
              reject(new Error(`${JSON.stringify(text)} did not appear; output:\n${out}`));
            }
          }, 10);
        });
      await appears('TIME (UTC)', 30_000);
      expect(out).not.toContain('/before/2');

      expect((await write(1, 'live')).code).toBe(0);
      await appears('/live/0', 1_000);

      const files = () => fs.readdirSync(path.join(sb.onecliHome, 'audit')).filter((name) => name.endsWith('.jsonl')).length;
      const before = files();
      expect((await write(40, 'rolled')).code).toBe(0);
      expect(files()).toBeGreaterThan(before + 1);
      await appears('/rolled/39', 1_000);
      for (let i = 0; i < 40; i++) expect(out).toContain(`GET api.example.com:443/rolled/${i} `);

      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      // A failed assertion above must not leave the follower running after the test.
      if (follower !== undefined && follower.exitCode === null && follower.signalCode === null) follower.kill('SIGKILL');
      sb.cleanup();
      fs.rmSync(compiled.dir, { recursive: true, force: true });
    }
  });
});
