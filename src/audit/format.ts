import { Chalk, type ChalkInstance } from 'chalk';
import type { AuditLine } from './event.js';

/** The people-facing table of `audit tail`. Library code: it returns lines, the command prints them. */

const HEADERS = ['TIME (UTC)', 'SESSION', 'EVENT', 'DECISION', 'STATUS', 'TARGET', 'SECRETS', 'DETAIL'] as const;
/** follow mode prints rows as they come, so it cannot measure them first: widths that fit typical rows */
const FOLLOW_WIDTHS = [23, 8, 13, 11, 6, 40, 16, 0];

type Cells = [string, string, string, string, string, string, string, string];

/** Tail does not verify, so a hand-made line may lack fields: it is shown as far as it goes, never a crash. */
function cells(line: AuditLine): Cells {
  try {
    return describe(line);
  } catch {
    return [String(line.ts), String(line.session).slice(0, 8), String(line.event), '', '', '', '', '(unreadable event)'];
  }
}

function describe(line: AuditLine): Cells {
  const time = line.ts.replace('T', ' ').replace(/Z$/, '');
  const base: Cells = [time, line.session.slice(0, 8), line.event, '', '', '', '', ''];
  switch (line.event) {
    case 'request':
      base[3] = line.decision;
      base[4] = String(line.status);
      base[5] = `${line.method} ${line.host}:${line.port}${line.path}`;
      base[6] = line.secrets.join(',');
      base[7] = [`${line.duration_ms}ms`, `in ${line.bytes_in}B`, `out ${line.bytes_out}B`, line.reason ?? ''].filter(Boolean).join('  ');
      break;
    case 'session.start':
      base[5] = line.proxy_port === null ? '' : `proxy 127.0.0.1:${line.proxy_port}`;
      base[6] = line.secrets.join(',');
      base[7] = [line.pid === undefined ? '' : `pid ${line.pid}`, line.agent.join(' ')].filter(Boolean).join('  ');
      break;
    case 'session.end': {
      const counts = Object.entries(line.requests).filter(([, count]) => count > 0).map(([decision, count]) => `${count} ${decision}`);
      base[7] = [line.signal === null ? `exit ${line.exit_code}` : `signal ${line.signal}`, counts.length > 0 ? counts.join(', ') : 'no requests'].join('  ');
      break;
    }
    case 'secret.add':
    case 'secret.rotate':
      base[6] = line.secret;
      base[7] = `version ${line.version}`;
      break;
    case 'secret.remove':
      base[6] = line.secret;
      break;
    case 'master.rotate':
      base[7] = line.master === undefined ? 'new master key' : `new master key (${line.master})`;
      break;
  }
  return base;
}

function paint(chalk: ChalkInstance, line: AuditLine | null, column: number, text: string): string {
  if (line === null) return chalk.bold(text);
  if (column === 0 || column === 1) return chalk.dim(text);
  if (column === 3 && line.event === 'request') {
    const byDecision = { injected: chalk.green, passthrough: chalk.dim, blocked: chalk.red, denied: chalk.red, error: chalk.yellow };
    return byDecision[line.decision](text);
  }
  if (column === 2 && line.event !== 'request') return chalk.cyan(text);
  return text;
}

function render(row: Cells, widths: readonly number[], chalk: ChalkInstance, line: AuditLine | null): string {
  return row
    .map((text, column) => {
      const width = widths[column] ?? 0;
      const padded = column === row.length - 1 ? text : text.padEnd(width);
      return paint(chalk, line, column, padded);
    })
    .join('  ')
    .trimEnd();
}

export interface TableOptions {
  color: boolean;
}

/** A header and one aligned row per event. */
export function formatTable(lines: readonly AuditLine[], options: TableOptions): string[] {
  const chalk = new Chalk({ level: options.color ? 1 : 0 });
  const rows = lines.map(cells);
  const widths = HEADERS.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column]!.length)));
  return [render([...HEADERS], widths, chalk, null), ...rows.map((row, i) => render(row, widths, chalk, lines[i]!))];
}

/** The header for follow mode, whose rows come one at a time. */
export function formatFollowHeader(options: TableOptions): string {
  return render([...HEADERS], FOLLOW_WIDTHS, new Chalk({ level: options.color ? 1 : 0 }), null);
}

export function formatFollowRow(line: AuditLine, options: TableOptions): string {
  return render(cells(line), FOLLOW_WIDTHS, new Chalk({ level: options.color ? 1 : 0 }), line);
}
