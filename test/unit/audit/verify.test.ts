import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditWriter } from '../../../src/audit/writer.js';
import { listAuditFiles } from '../../../src/audit/files.js';
import { sealLine } from '../../../src/audit/chain.js';
import { verifyAudit } from '../../../src/audit/verify.js';
import { makeTempHome, readLines, request, writeLines, writeRun, type TempHome } from './support.js';

let t: TempHome;
let file: string;
beforeEach(() => {
  t = makeTempHome();
  file = path.join(t.auditDir, 'audit.jsonl');
  // three finished runs of 1 + 4 + 1 lines: lines 1-6, 7-12, 13-18
  for (let i = 0; i < 3; i++) writeRun(t.home, t.key, 4);
});
afterEach(() => t.cleanup());

function tamper(edit: (lines: string[]) => void): void {
  const lines = readLines(file);
  edit(lines);
  writeLines(file, lines);
}

function problem() {
  const result = verifyAudit(t.home, t.key);
  expect(result.ok).toBe(false);
  return result.problem!;
}

describe('verifyAudit', () => {
  it('passes an untouched log', () => {
    expect(verifyAudit(t.home, t.key)).toEqual({ ok: true, files: 1, sessions: 3, events: 18, open: 0 });
  });

  it('passes a home without any log', () => {
    fs.rmSync(t.auditDir, { recursive: true });
    expect(verifyAudit(t.home, t.key)).toEqual({ ok: true, files: 0, sessions: 0, events: 0, open: 0 });
  });

  it('finds an edited field', () => {
    tamper((lines) => (lines[8] = lines[8]!.replace('"status":200', '"status":500')));
    expect(problem()).toEqual({ file, line: 9, reason: expect.stringMatching(/MAC does not match/) });
  });

  it('finds a deleted line', () => {
    tamper((lines) => lines.splice(9, 1));
    expect(problem()).toMatchObject({ file, line: 10, reason: expect.stringMatching(/jumps from seq 2 to 4: a line before this one is missing/) });
  });

  it('finds an inserted line forged without the key', () => {
    const forged = sealLine(randomBytes(32), Object.entries(JSON.parse(readLines(file)[8]!)).filter(([k]) => k !== 'mac')).line.trimEnd();
    tamper((lines) => lines.splice(9, 0, forged));
    expect(problem()).toMatchObject({ file, line: 10, reason: expect.stringMatching(/MAC does not match/) });
  });

  it('finds a genuine line copied in a second time', () => {
    tamper((lines) => lines.splice(10, 0, lines[8]!));
    expect(problem()).toMatchObject({ file, line: 11, reason: expect.stringMatching(/repeats seq 2/) });
  });

  it('finds two swapped lines', () => {
    tamper((lines) => ([lines[8], lines[9]] = [lines[9]!, lines[8]!]));
    expect(problem()).toMatchObject({ file, line: 9, reason: expect.stringMatching(/jumps from seq 1 to 3/) });
  });

  it('finds a session truncated mid-way whose process is gone', () => {
    tamper((lines) => lines.splice(14)); // the last run loses its last two requests and its session.end
    expect(problem()).toMatchObject({ file, line: 14, reason: expect.stringMatching(/without a closing event and its process is gone: the lines after it were cut/) });
  });

  it('finds the end of an earlier session cut out through the anchor of the session opened after it', () => {
    tamper((lines) => lines.splice(9, 3)); // the second run loses its last two requests and its session.end
    expect(problem()).toMatchObject({ file, line: 10, reason: expect.stringMatching(/opened after a line that is not earlier in the log/) });
  });

  it('counts a session without its end as open while its process still runs', () => {
    const writer = AuditWriter.open({ home: t.home, key: t.key, agent: ['agent'], pid: process.pid });
    writer.append({ event: 'session.start', secrets: [], proxy_port: 1 });
    writer.append({ event: 'request', ...request() });
    expect(verifyAudit(t.home, t.key)).toEqual({ ok: true, files: 1, sessions: 4, events: 20, open: 1 });
    expect(verifyAudit(t.home, t.key, { isAlive: () => false }).problem).toMatchObject({ file, line: 20 });
  });

  it('finds a bad JSON line', () => {
    tamper((lines) => (lines[4] = lines[4]!.slice(0, 40)));
    expect(problem()).toEqual({ file, line: 5, reason: 'the line is not valid JSON' });
  });

  it('finds an empty line', () => {
    tamper((lines) => lines.splice(3, 0, ''));
    expect(problem()).toEqual({ file, line: 4, reason: 'an empty line' });
  });

  it('finds a whole session deleted when a later session was anchored on it', () => {
    tamper((lines) => lines.splice(6, 6));
    expect(problem()).toMatchObject({ file, line: 7, reason: expect.stringMatching(/opened after a line that is not earlier in the log/) });
  });

  it('finds a session whose first lines were deleted', () => {
    tamper((lines) => lines.splice(12, 2));
    expect(problem()).toMatchObject({ file, line: 13, reason: expect.stringMatching(/starts at seq 2: its earlier lines are missing/) });
  });

  it('fails with another vault key', () => {
    expect(verifyAudit(t.home, randomBytes(32)).problem).toMatchObject({ file, line: 1, reason: expect.stringMatching(/MAC/) });
  });

  it('follows the chains across rolled files and names the rolled file that was edited', () => {
    for (let i = 0; i < 4; i++) writeRun(t.home, t.key, 30, { maxBytes: 4096 });
    const files = listAuditFiles(t.home);
    expect(files.length).toBeGreaterThan(3);
    expect(verifyAudit(t.home, t.key)).toMatchObject({ ok: true, files: files.length, sessions: 7, events: 18 + 4 * 32 });
    const victim = files[2]!;
    const lines = readLines(victim);
    lines[1] = lines[1]!.replace('"GET"', '"PUT"');
    writeLines(victim, lines);
    expect(problem()).toMatchObject({ file: victim, line: 2 });
  });

  it('finds a rolled file that was deleted', () => {
    for (let i = 0; i < 4; i++) writeRun(t.home, t.key, 30, { maxBytes: 4096 });
    const files = listAuditFiles(t.home);
    fs.rmSync(files[2]!);
    expect(problem()).toMatchObject({ file: files[3], line: 1 });
  });

  it('names a torn last line in a rolled file', () => {
    for (let i = 0; i < 2; i++) writeRun(t.home, t.key, 30, { maxBytes: 4096 });
    const first = listAuditFiles(t.home)[0]!;
    fs.writeFileSync(first, fs.readFileSync(first).subarray(0, -10));
    expect(problem()).toMatchObject({ file: first });
  });
});
