import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listAuditFiles } from '../../../src/audit/files.js';
import { verifyAudit } from '../../../src/audit/verify.js';
import { cleanEnv, runProcess } from '../../support/cli.js';
import { compileAuditModules, makeTempHome, readLines, type TempHome } from './support.js';

const WRITERS = 8;
const EVENTS = 500;

// A writer process: waits for the start file so all eight begin together, then appends start, 498 requests, end.
const CHILD = `
import fs from 'node:fs';
const { AuditWriter } = await import(process.env.WRITER_URL);
while (!fs.existsSync(process.env.GO_FILE)) await new Promise((r) => setTimeout(r, 2));
const writer = AuditWriter.open({ home: process.env.ONECLI_HOME, key: Buffer.from(process.env.TEST_AUDIT_KEY, 'hex'), agent: ['child', process.env.CHILD_ID] });
writer.append({ event: 'session.start', secrets: ['stripe'], proxy_port: 1000 + Number(process.env.CHILD_ID) });
for (let i = 0; i < ${EVENTS - 2}; i++) {
  writer.append({ event: 'request', method: 'POST', host: 'api.stripe.com', port: 443, path: '/v1/charges/' + i, status: 200,
    decision: 'injected', secrets: ['stripe'], bytes_in: i, bytes_out: 2 * i, duration_ms: 1 });
}
writer.append({ event: 'session.end', exit_code: 0, signal: null });
writer.close();
`;

let compiled: { dir: string; writerUrl: string };
beforeAll(() => {
  compiled = compileAuditModules();
});
afterAll(() => fs.rmSync(compiled.dir, { recursive: true, force: true }));

let t: TempHome;
beforeEach(() => {
  t = makeTempHome();
});
afterEach(() => t.cleanup());

async function race(maxBytes?: number): Promise<void> {
  const goFile = path.join(path.dirname(t.home), 'go');
  const children = Array.from({ length: WRITERS }, (_, id) =>
    runProcess(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: cleanEnv({
        ONECLI_HOME: t.home, WRITER_URL: compiled.writerUrl, GO_FILE: goFile, CHILD_ID: String(id),
        TEST_AUDIT_KEY: t.key.toString('hex'), ONECLI_AUDIT_MAX_BYTES: maxBytes === undefined ? undefined : String(maxBytes),
      }),
    }),
  );
  fs.mkdirSync(path.dirname(goFile), { recursive: true });
  fs.writeFileSync(goFile, '');
  const results = await Promise.all(children);
  for (const result of results) expect(result).toMatchObject({ code: 0, stderr: '' });
}

function checkAllPresent(): void {
  const lines = listAuditFiles(t.home).flatMap(readLines);
  expect(lines).toHaveLength(WRITERS * EVENTS);
  const bySession = new Map<string, number[]>();
  for (const raw of lines) {
    const line = JSON.parse(raw);
    bySession.set(line.session, [...(bySession.get(line.session) ?? []), line.seq]);
  }
  expect(bySession.size).toBe(WRITERS);
  for (const seqs of bySession.values()) expect(seqs).toEqual(Array.from({ length: EVENTS }, (_, i) => i));
  expect(verifyAudit(t.home, t.key)).toMatchObject({ ok: true, sessions: WRITERS, events: WRITERS * EVENTS, open: 0 });
}

describe('eight processes appending at once', () => {
  it('keeps all 4,000 lines whole, each session chain valid', async () => {
    await race();
    expect(listAuditFiles(t.home)).toHaveLength(1);
    checkAllPresent();
  });

  it('keeps all 4,000 lines and valid chains while the file rolls over many times', async () => {
    await race(64 * 1024);
    expect(listAuditFiles(t.home).length).toBeGreaterThan(10);
    checkAllPresent();
  });
});
