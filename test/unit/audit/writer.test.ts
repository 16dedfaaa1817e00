import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditWriter, newSessionId, recordCommandEvent } from '../../../src/audit/writer.js';
import { createAuditSink } from '../../../src/audit/sink.js';
import { listAuditFiles } from '../../../src/audit/files.js';
import { verifyAudit } from '../../../src/audit/verify.js';
import { makeCanary } from '../../support/cli.js';
import { makeTempHome, readLines, request, writeRun, type TempHome } from './support.js';

let t: TempHome;
beforeEach(() => {
  t = makeTempHome();
});
afterEach(() => t.cleanup());

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('AuditWriter', () => {
  it('writes every event kind with its fields, chained within the session', () => {
    const writer = AuditWriter.open({ home: t.home, key: t.key, agent: ['claude', '--print'], pid: 4242 });
    writer.append({ event: 'session.start', secrets: ['stripe', 'github'], proxy_port: 41234 });
    writer.append({ event: 'request', ...request() });
    writer.append({ event: 'request', ...request({ decision: 'blocked', status: 403, secrets: [], reason: 'placeholder sent to another host' }) });
    writer.append({ event: 'session.end', exit_code: 0, signal: null });
    writer.close();
    recordCommandEvent({ home: t.home, key: t.key, agent: ['onecli', 'secret', 'add'], event: { event: 'secret.add', secret: 'stripe', version: 1 } });
    recordCommandEvent({ home: t.home, key: t.key, agent: ['onecli', 'rotate'], event: { event: 'secret.rotate', secret: 'stripe', version: 2 } });
    recordCommandEvent({ home: t.home, key: t.key, agent: ['onecli', 'secret', 'rm'], event: { event: 'secret.remove', secret: 'stripe' } });
    recordCommandEvent({ home: t.home, key: t.key, agent: ['onecli', 'rotate'], event: { event: 'master.rotate', master: 'passphrase' } });

    const lines = readLines(path.join(t.auditDir, 'audit.jsonl')).map((line) => JSON.parse(line));
    expect(lines.map((line) => line.event)).toEqual(['session.start', 'request', 'request', 'session.end', 'secret.add', 'secret.rotate', 'secret.remove', 'master.rotate']);
    for (const line of lines) {
      expect(line.ts).toMatch(ISO_MS);
      expect(line.mac).toMatch(/^[0-9a-f]{64}$/);
    }
    const [start, injected, blocked, end, add, rotate, remove, master] = lines;
    expect(start).toMatchObject({ session: writer.session, seq: 0, prev: 'start', agent: ['claude', '--print'], pid: 4242, anchor: null, secrets: ['stripe', 'github'], proxy_port: 41234 });
    expect(Object.keys(injected)).toEqual(['ts', 'event', 'session', 'seq', 'prev', 'agent', 'method', 'host', 'port', 'path', 'status', 'decision', 'secrets', 'bytes_in', 'bytes_out', 'duration_ms', 'mac']);
    expect(injected).toMatchObject({ seq: 1, prev: start.mac, method: 'GET', host: 'api.stripe.com', port: 443, path: '/v1/charges', status: 200, decision: 'injected', secrets: ['stripe'], bytes_in: 120, bytes_out: 2048, duration_ms: 31 });
    expect(blocked).toMatchObject({ seq: 2, prev: injected.mac, decision: 'blocked', status: 403, reason: 'placeholder sent to another host' });
    expect(end).toMatchObject({ seq: 3, exit_code: 0, signal: null, requests: { injected: 1, passthrough: 0, blocked: 1, denied: 0, error: 0 } });
    expect(add).toMatchObject({ seq: 0, prev: 'start', agent: ['onecli', 'secret', 'add'], secret: 'stripe', version: 1, final: true, anchor: end.mac, pid: process.pid });
    expect(rotate).toMatchObject({ secret: 'stripe', version: 2, final: true, anchor: add.mac });
    expect(remove).toMatchObject({ secret: 'stripe', final: true });
    expect(master).toMatchObject({ master: 'passphrase', final: true });
    expect(new Set(lines.slice(4).map((line) => line.session)).size).toBe(4);
    expect(verifyAudit(t.home, t.key)).toEqual({ ok: true, files: 1, sessions: 5, events: 8, open: 0 });
  });

  it('creates the folder 0700 and the file 0600', () => {
    writeRun(t.home, t.key, 1);
    expect(fs.statSync(t.auditDir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(t.auditDir, 'audit.jsonl')).mode & 0o777).toBe(0o600);
  });

  it('refuses events after the session ended', () => {
    const writer = writeRun(t.home, t.key, 0);
    expect(() => writer.append({ event: 'request', ...request() })).toThrow(/already ended/);
  });

  it('makes distinct session ids', () => {
    const ids = new Set(Array.from({ length: 1000 }, newSessionId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('rolls the file over by size, and the chains carry on across files', () => {
    for (let i = 0; i < 5; i++) writeRun(t.home, t.key, 20, { maxBytes: 4096 });
    const files = listAuditFiles(t.home);
    expect(files.length).toBeGreaterThan(5);
    expect(path.basename(files.at(-1)!)).toBe('audit.jsonl');
    for (const file of files.slice(0, -1)) {
      expect(path.basename(file)).toMatch(/^audit-\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8}\.jsonl$/);
      expect(fs.statSync(file).size).toBeLessThanOrEqual(4096);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    }
    const total = files.reduce((sum, file) => sum + readLines(file).length, 0);
    expect(total).toBe(5 * 22);
    expect(verifyAudit(t.home, t.key)).toMatchObject({ ok: true, files: files.length, sessions: 5, events: 110 });
  });
});

describe('what never enters the log', () => {
  it('keeps no query string, userinfo, header or body, even when the record carries them', () => {
    const canary = makeCanary();
    const writer = AuditWriter.open({ home: t.home, key: t.key, agent: ['curl'] });
    const sink = createAuditSink(writer);
    const url = new URL(`https://api.stripe.com/v1/charges?api_key=${canary}#${canary}`);
    const sneaky = {
      ...request({ path: url.pathname + url.search + url.hash, reason: 'injected Authorization header' }),
      headers: { authorization: `Bearer ${canary}`, cookie: canary, 'proxy-authorization': canary },
      body: canary,
      value: canary,
      placeholder: canary,
    };
    sink.record(sneaky);
    sink.record(request({ path: `http://user:${canary}@api.stripe.com/v1/x?token=${canary}` }));
    sink.record(request({ secrets: [canary, 'stripe'] }));
    writer.append({ event: 'session.end', exit_code: 0, signal: null });
    const text = fs.readFileSync(path.join(t.auditDir, 'audit.jsonl'), 'utf8');
    expect(text.includes(canary)).toBe(false);
    const paths = readLines(path.join(t.auditDir, 'audit.jsonl')).map((line) => JSON.parse(line).path);
    expect(paths).toEqual(['/v1/charges', '/v1/x', '/v1/charges', undefined]);
    expect(JSON.parse(readLines(path.join(t.auditDir, 'audit.jsonl'))[2]!).secrets).toEqual(['(invalid name)', 'stripe']);
  });
});
