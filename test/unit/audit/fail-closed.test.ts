import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditWriter } from '../../../src/audit/writer.js';
import { createAuditSink } from '../../../src/audit/sink.js';
import { verifyAudit } from '../../../src/audit/verify.js';
import { isOnecliError } from '../../../src/errors.js';
import { cleanEnv } from '../../support/cli.js';
import { makeTempHome, request, type TempHome } from './support.js';

/**
 * These tests run as root, where chmod 0500 stops nothing. What really fails for root: a file where the folder
 * should be, a full tmpfs (when this machine lets us mount one), and the immutable attribute (chattr +i).
 */
const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { env: cleanEnv(), encoding: 'utf8' });

function probe(run: (dir: string) => boolean): boolean {
  const t = makeTempHome();
  try {
    fs.mkdirSync(t.home, { recursive: true });
    return run(t.home);
  } catch {
    return false;
  } finally {
    t.cleanup();
  }
}
const canMount = probe((dir) => sh('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status === 0 && sh('umount', [dir]).status === 0);
const canChattr = probe((dir) => sh('chattr', ['+i', dir]).status === 0 && sh('chattr', ['-i', dir]).status === 0);

function expectUnavailable(fn: () => void): string {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isOnecliError(caught, 'E_AUDIT_UNAVAILABLE')).toBe(true);
  return (caught as Error).message;
}

let t: TempHome;
let cleanups: Array<() => void>;
beforeEach(() => {
  t = makeTempHome();
  cleanups = [];
});
afterEach(() => {
  for (const cleanup of cleanups.reverse()) cleanup();
  t.cleanup();
});

describe('an audit log that cannot be written', () => {
  it('fails closed when a file stands where the audit folder should be', () => {
    fs.mkdirSync(t.home, { recursive: true });
    fs.writeFileSync(t.auditDir, 'not a folder');
    const message = expectUnavailable(() => AuditWriter.open({ home: t.home, key: t.key, agent: ['agent'] }));
    expect(message).toMatch(/cannot be written: a file is in the way of the audit folder/);

    const writer = AuditWriter.tryOpen({ home: t.home, key: t.key, agent: ['agent'] });
    const sink = createAuditSink(writer);
    expect(writer.healthy).toBe(false);
    expect(sink.healthy()).toBe(false);
    expect(sink.problem()).toBe(message);
    expectUnavailable(() => writer.append({ event: 'session.start', secrets: [], proxy_port: 1 }));
    expect(() => sink.record(request())).not.toThrow();
  });

  it.skipIf(!canMount)('fails closed when the disk fills up mid-run (a 64 KiB tmpfs)', () => {
    fs.mkdirSync(t.home, { recursive: true });
    expect(sh('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', t.home]).status).toBe(0);
    cleanups.push(() => sh('umount', [t.home]));
    const writer = AuditWriter.open({ home: t.home, key: t.key, agent: ['agent'] });
    cleanups.push(() => writer.close());
    const sink = createAuditSink(writer);
    writer.append({ event: 'session.start', secrets: ['stripe'], proxy_port: 1 });
    let recorded = 0;
    while (sink.healthy() && recorded < 10_000) {
      sink.record(request());
      if (sink.healthy()) recorded += 1;
    }
    expect(recorded).toBeGreaterThan(10);
    expect(recorded).toBeLessThan(10_000);
    expect(sink.problem()).toMatch(/cannot be written: the disk is full \(ENOSPC\)/);
    expectUnavailable(() => writer.append({ event: 'session.end', exit_code: 0, signal: null }));
    // What did get written still verifies, up to where the record stops.
    const result = verifyAudit(t.home, t.key, { isAlive: () => false });
    expect(result.ok).toBe(false);
    expect(result.problem?.file).toBe(path.join(t.auditDir, 'audit.jsonl'));
  });

  it.skipIf(!canChattr)('fails closed when the audit folder is read-only (immutable)', () => {
    fs.mkdirSync(t.auditDir, { recursive: true, mode: 0o700 });
    expect(sh('chattr', ['+i', t.auditDir]).status).toBe(0);
    cleanups.push(() => sh('chattr', ['-i', t.auditDir]));
    const writer = AuditWriter.tryOpen({ home: t.home, key: t.key, agent: ['agent'] });
    expect(writer.healthy).toBe(false);
    expect(writer.problem).toMatch(/cannot be written: the operation is not permitted \(EPERM\)/);
  });

  it.skipIf(!canChattr)('fails closed when the log file turns read-only while a run writes', () => {
    const writer = AuditWriter.open({ home: t.home, key: t.key, agent: ['agent'] });
    writer.append({ event: 'session.start', secrets: [], proxy_port: 1 });
    const file = path.join(t.auditDir, 'audit.jsonl');
    expect(sh('chattr', ['+i', file]).status).toBe(0);
    cleanups.push(() => sh('chattr', ['-i', file]));
    expect(writer.healthy).toBe(true);
    expectUnavailable(() => writer.append({ event: 'request', ...request() }));
    expect(writer.healthy).toBe(false);
    expect(writer.problem).toMatch(/EPERM/);
  });
});
