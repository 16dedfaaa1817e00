import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditWriter } from '../../../src/audit/writer.js';
import { listAuditFiles } from '../../../src/audit/files.js';
import { followAudit, parseSince, tailAudit } from '../../../src/audit/reader.js';
import type { AuditLine } from '../../../src/audit/event.js';
import { isOnecliError } from '../../../src/errors.js';
import { makeTempHome, readLines, request, writeRun, type TempHome } from './support.js';

let t: TempHome;
beforeEach(() => {
  t = makeTempHome();
});
afterEach(() => t.cleanup());

function allLines(): AuditLine[] {
  return listAuditFiles(t.home).flatMap((file) => readLines(file).map((line) => JSON.parse(line) as AuditLine));
}

function waitFor(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (check()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() > deadline) {
        clearInterval(timer);
        reject(new Error(`gave up waiting for ${what}`));
      }
    }, 10);
  });
}

describe('tailAudit', () => {
  it('returns the last n events, oldest first', () => {
    writeRun(t.home, t.key, 30);
    const all = allLines();
    const { events } = tailAudit(t.home, 5);
    expect(events).toEqual(all.slice(-5));
    expect(tailAudit(t.home, 0).events).toEqual([]);
    expect(tailAudit(t.home, 1000).events).toEqual(all);
  });

  it('reads a bounded number of bytes from the end of a big log', () => {
    const writer = AuditWriter.open({ home: t.home, key: t.key, agent: ['agent'] });
    for (let i = 0; i < 20_000; i++) writer.append({ event: 'request', ...request({ path: `/v1/charges/${i}` }) });
    const size = fs.statSync(path.join(t.auditDir, 'audit.jsonl')).size;
    const { events, bytesRead } = tailAudit(t.home, 20);
    expect(events.map((e) => (e.event === 'request' ? e.path : ''))).toEqual(Array.from({ length: 20 }, (_, i) => `/v1/charges/${19_980 + i}`));
    expect(size).toBeGreaterThan(5_000_000);
    expect(bytesRead).toBeLessThanOrEqual(64 * 1024);
  });

  it('follows rolled files backwards when the newest file is short', () => {
    for (let i = 0; i < 3; i++) writeRun(t.home, t.key, 40, { maxBytes: 4096 });
    const all = allLines();
    expect(listAuditFiles(t.home).length).toBeGreaterThan(4);
    expect(tailAudit(t.home, 60).events).toEqual(all.slice(-60));
    expect(tailAudit(t.home, 60, {}, 512).events).toEqual(all.slice(-60));
  });

  it('filters by session, secret, host, decision and since', () => {
    const one = writeRun(t.home, t.key, 3);
    const writer = AuditWriter.open({ home: t.home, key: t.key, agent: ['agent'] });
    writer.append({ event: 'session.start', secrets: ['github'], proxy_port: 1 });
    writer.append({ event: 'request', ...request({ host: 'api.github.com', secrets: ['github'] }) });
    writer.append({ event: 'request', ...request({ host: 'example.com', decision: 'passthrough', secrets: [] }) });
    writer.append({ event: 'request', ...request({ host: 'API.GitHub.com', decision: 'blocked', secrets: ['github'] }) });
    writer.append({ event: 'session.end', exit_code: 1, signal: null });
    const all = allLines();
    expect(tailAudit(t.home, 100, { session: one.session.slice(0, 6) }).events).toEqual(all.filter((e) => e.session === one.session));
    expect(tailAudit(t.home, 100, { secret: 'github' }).events.map((e) => e.event)).toEqual(['session.start', 'request', 'request']);
    expect(tailAudit(t.home, 100, { host: 'API.GITHUB.COM' }).events).toHaveLength(2);
    expect(tailAudit(t.home, 100, { decision: 'passthrough' }).events.map((e) => (e.event === 'request' ? e.host : ''))).toEqual(['example.com']);
    expect(tailAudit(t.home, 100, { host: 'api.github.com', decision: 'blocked' }).events).toHaveLength(1);
    const middle = all[7]!.ts;
    expect(tailAudit(t.home, 100, { since: new Date(middle) }).events).toEqual(all.filter((e) => e.ts >= middle));
    expect(tailAudit(t.home, 100, { since: new Date(Date.now() + 60_000) }).events).toEqual([]);
  });

  it('returns nothing when there is no log yet', () => {
    expect(tailAudit(t.home, 20)).toEqual({ events: [], bytesRead: 0, position: null });
  });
});

describe('parseSince', () => {
  it('reads durations and ISO dates, and refuses anything else', () => {
    const now = Date.parse('2026-01-01T12:00:00.000Z');
    expect(parseSince('10m', now).toISOString()).toBe('2026-01-01T11:50:00.000Z');
    expect(parseSince('2h', now).toISOString()).toBe('2026-01-01T10:00:00.000Z');
    expect(parseSince('1d', now).toISOString()).toBe('2025-12-31T12:00:00.000Z');
    expect(parseSince('30s', now).toISOString()).toBe('2026-01-01T11:59:30.000Z');
    expect(parseSince('2026-01-01T09:00:00Z', now).toISOString()).toBe('2026-01-01T09:00:00.000Z');
    for (const bad of ['yesterday', '10', '-5m', '']) {
      let caught: unknown;
      try {
        parseSince(bad, now);
      } catch (err) {
        caught = err;
      }
      expect(isOnecliError(caught, 'E_USAGE')).toBe(true);
    }
  });
});

describe('followAudit', () => {
  it('delivers new lines, including across rollovers, and stops cleanly', async () => {
    writeRun(t.home, t.key, 2);
    const seen: AuditLine[] = [];
    const follower = followAudit(t.home, { onEvent: (line) => seen.push(line), pollMs: 50 });
    const writer = AuditWriter.open({ home: t.home, key: t.key, agent: ['agent'], maxBytes: 2048 });
    writer.append({ event: 'session.start', secrets: [], proxy_port: 1 });
    await waitFor(() => seen.length === 1, 'the first line');
    const before = listAuditFiles(t.home).length;
    for (let i = 0; i < 30; i++) writer.append({ event: 'request', ...request({ path: `/p/${i}` }) });
    writer.append({ event: 'session.end', exit_code: 0, signal: null });
    expect(listAuditFiles(t.home).length).toBeGreaterThan(before + 2);
    await waitFor(() => seen.length === 32, 'every line across the rollovers');
    expect(seen.map((line) => line.seq)).toEqual(Array.from({ length: 32 }, (_, i) => i));
    follower.stop();
    writeRun(t.home, t.key, 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen).toHaveLength(32);
  });

  it('waits for a log that does not exist yet', async () => {
    const seen: AuditLine[] = [];
    const follower = followAudit(t.home, { onEvent: (line) => seen.push(line), pollMs: 50 });
    writeRun(t.home, t.key, 1);
    await waitFor(() => seen.length === 3, 'the new log');
    follower.stop();
  });
});
