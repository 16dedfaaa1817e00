/**
 * Spawns the agent with the terminal handed straight through (stdio inherited, same process group), so an
 * interactive agent behaves as it does without onecli, and maps how it ended to an exit code the way a shell does.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export interface ChildExit {
  /** what onecli exits with: the child's code, 128+N for signal N, 127 not found, 126 not executable */
  exitCode: number;
  /** the child's own exit code, when it exited */
  code: number | null;
  /** the signal that ended the child, when one did */
  signal: NodeJS.Signals | null;
  /** why the child never started (ENOENT, EACCES, …) */
  spawnError: string | null;
}

export interface SpawnedChild {
  pid: number | undefined;
  exited: Promise<ChildExit>;
  /** stop handling SIGINT/SIGTERM/SIGHUP; call once the run has cleaned up (until then they are held off) */
  dispose(): void;
}

export interface SpawnChildOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export function signalExitCode(signal: NodeJS.Signals): number {
  const number = os.constants.signals[signal];
  return 128 + (typeof number === 'number' ? number : 0);
}

function spawnFailureCode(code: string | undefined): number {
  if (code === 'ENOENT') return 127;
  return 126;
}

/**
 * True when this process is in its terminal's foreground process group: then a keyboard SIGINT (or a hang-up) was
 * delivered by the kernel to the child as well, and forwarding it would make the child see it twice — agents often
 * read a second Ctrl-C as "quit now". Linux only (/proc); elsewhere we assume not, and forward.
 */
function inForegroundGroup(): boolean {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    // fields after the parenthesised command name: state ppid pgrp session tty_nr tpgid …
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pgrp = Number(fields[2]);
    const ttyNr = Number(fields[4]);
    const tpgid = Number(fields[5]);
    return ttyNr !== 0 && tpgid > 0 && tpgid === pgrp;
  } catch {
    return false;
  }
}

/**
 * Each of SIGINT/SIGTERM/SIGHUP is passed to the child once; a second SIGINT kills it (SIGKILL) for an agent that
 * will not stop. While the child runs, onecli itself does not die of these signals: it waits for the child, so the
 * proxy, the audit log's session.end and the temp files are all closed properly.
 */
export function spawnChild(command: string, args: readonly string[], options: SpawnChildOptions): SpawnedChild {
  const child = spawn(command, args, { env: options.env, cwd: options.cwd ?? process.cwd(), stdio: 'inherit' });
  const seen = new Set<NodeJS.Signals>();
  const handlers = new Map<NodeJS.Signals, () => void>();

  const onSignal = (signal: NodeJS.Signals): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (seen.has(signal)) {
      if (signal === 'SIGINT') child.kill('SIGKILL');
      return;
    }
    seen.add(signal);
    const fromTerminal = (signal === 'SIGINT' || signal === 'SIGHUP') && inForegroundGroup();
    if (!fromTerminal) child.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) {
    const handler = (): void => onSignal(signal);
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  const release = (): void => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
  };

  const exited = new Promise<ChildExit>((resolve) => {
    let settled = false;
    child.once('error', (err: NodeJS.ErrnoException) => {
      // 'error' also fires when kill() fails on a live child; only a failed spawn (no pid) ends the run here.
      if (settled || child.pid !== undefined) return;
      settled = true;
      resolve({ exitCode: spawnFailureCode(err.code), code: null, signal: null, spawnError: err.code ?? 'spawn failed' });
    });
    child.once('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      const exitCode = signal !== null ? signalExitCode(signal) : (code ?? 1);
      resolve({ exitCode, code, signal, spawnError: null });
    });
  });
  return { pid: child.pid, exited, dispose: release };
}
