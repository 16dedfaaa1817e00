import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import ts from 'typescript';
import { ROOT } from '../../support/cli.js';
import { AuditWriter } from '../../../src/audit/writer.js';
import type { RequestRecord } from '../../../src/proxy/types.js';

export interface TempHome {
  home: string;
  key: Buffer;
  auditDir: string;
  cleanup(): void;
}

export function makeTempHome(): TempHome {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onecli-audit-'));
  const home = path.join(dir, 'state');
  return { home, key: randomBytes(32), auditDir: path.join(home, 'audit'), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function request(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    method: 'GET', host: 'api.stripe.com', port: 443, path: '/v1/charges', status: 200, decision: 'injected',
    secrets: ['stripe'], bytes_in: 120, bytes_out: 2048, duration_ms: 31, ...overrides,
  };
}

/** The pid of a process that has exited (a run that is over, as verify sees it). */
export const DEAD_PID = spawnSync('true', { env: {} }).pid;

/** A finished run: start, n requests, end. Its pid is a process that has exited, like a real finished run's. */
export function writeRun(home: string, key: Buffer, requests: number, options: { maxBytes?: number; agent?: string[] } = {}): AuditWriter {
  const writer = AuditWriter.open({ home, key, agent: options.agent ?? ['claude', '--print'], pid: DEAD_PID, ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }) });
  writer.append({ event: 'session.start', secrets: ['stripe'], proxy_port: 40000 });
  for (let i = 0; i < requests; i++) writer.append({ event: 'request', ...request({ path: `/v1/charges/${i}` }) });
  writer.append({ event: 'session.end', exit_code: 0, signal: null });
  writer.close();
  return writer;
}

export function readLines(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');
}

export function writeLines(file: string, lines: readonly string[]): void {
  fs.writeFileSync(file, lines.map((line) => `${line}\n`).join(''));
}

/**
 * The audit modules compiled to plain JavaScript in a temp folder, for child processes (Node 20 cannot run
 * TypeScript). Only node: built-ins are imported by these files, so they run from anywhere.
 */
export function compileAuditModules(): { dir: string; writerUrl: string } {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'onecli-audit-js-'));
  const files = ['errors.ts', 'home.ts', 'audit/chain.ts', 'audit/event.ts', 'audit/files.ts', 'audit/writer.ts'];
  for (const file of files) {
    const source = fs.readFileSync(path.join(ROOT, 'src', file), 'utf8');
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } }).outputText;
    const target = path.join(out, file.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, js);
  }
  fs.writeFileSync(path.join(out, 'package.json'), '{"type":"module"}');
  return { dir: out, writerUrl: new URL(`file://${path.join(out, 'audit', 'writer.js')}`).href };
}
