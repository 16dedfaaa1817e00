import { Chalk, type ChalkInstance } from 'chalk';

/** Colour only on a terminal and never with NO_COLOR (https://no-color.org). */
export function colorFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): ChalkInstance {
  const enabled = stream.isTTY === true && env['NO_COLOR'] === undefined && env['TERM'] !== 'dumb';
  return new Chalk({ level: enabled ? 1 : 0 });
}

/** stdout is data only. */
export function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Aligned columns for people; the last column is left ragged. */
export function formatTable(rows: readonly (readonly string[])[], widthOf: (cell: string) => number = (c) => c.length): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, widthOf(cell))));
  return rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - widthOf(cell)))).join('  ').trimEnd(),
  );
}

/** A spinner on stderr while a slow step runs (the KDF, a re-encryption); silent when stderr is not a terminal. */
export async function withSpinner<T>(label: string, work: () => Promise<T>): Promise<T> {
  const stream = process.stderr;
  if (!stream.isTTY) return work();
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let i = 0;
  const color = colorFor(stream);
  const draw = (): void => {
    stream.write(`\r${color.cyan(frames[i++ % frames.length] ?? '')} ${label}`);
  };
  const timer = setInterval(draw, 80);
  draw();
  try {
    return await work();
  } finally {
    clearInterval(timer);
    stream.write('\r\x1b[K');
  }
}
