import { Command, Errors, Flags } from '@oclif/core';
import { ERROR_CODES, OnecliError, isOnecliError } from '../errors.js';
import { onecliHome } from '../home.js';
import { passphraseSource } from './input.js';
import { colorFor, writeJson } from './output.js';

/** The CLI's only door to stderr for errors: `onecli: error: …` / `onecli: hint: …`, or the JSON envelope. */
export function renderError(err: OnecliError, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(err.toJSON())}\n`);
    return;
  }
  const color = colorFor(process.stderr);
  process.stderr.write(`${color.red('onecli: error:')} ${err.message}\n`);
  for (const hint of err.hints) process.stderr.write(`${color.yellow('onecli: hint:')} ${hint}\n`);
}

// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');

/** Turns anything thrown into an OnecliError; unknown failures become E_INTERNAL without a stack. */
export function toOnecliError(err: unknown, commandId: string | undefined): OnecliError {
  if (isOnecliError(err)) return err;
  if (err instanceof Errors.CLIError) {
    const message = stripAnsi(err.message).split('\n')[0] ?? 'invalid command line';
    return new OnecliError('E_USAGE', message.replace(/^Error: /, ''), `see \`onecli ${commandId ?? ''} --help\``.replace('  ', ' '));
  }
  const message = err instanceof Error ? err.message : String(err);
  return new OnecliError('E_INTERNAL', `unexpected failure: ${message.split('\n')[0] ?? ''}`, [
    'this is a bug in onecli; please report it with the command you ran (never the secret values)',
  ]);
}

export abstract class BaseCommand extends Command {
  static override baseFlags = {
    json: Flags.boolean({ description: 'Print machine-readable JSON on stdout.', default: false }),
  };

  protected get home(): string {
    return onecliHome();
  }

  /** ONECLI_PASSPHRASE or a terminal prompt; only asked for when the vault is a passphrase vault. */
  protected passphrase(newVar: 'ONECLI_PASSPHRASE' | 'ONECLI_NEW_PASSPHRASE' = 'ONECLI_PASSPHRASE') {
    return passphraseSource(newVar);
  }

  protected printJson(value: unknown): void {
    writeJson(value);
  }

  /** Exit code for an error; `onecli run` overrides it (125 before the command started). */
  protected exitCodeFor(err: OnecliError): number {
    return ERROR_CODES[err.code].exit;
  }

  protected override async catch(err: Error & { oclif?: { exit?: number } }): Promise<void> {
    // this.exit() and --help/--version travel as exceptions carrying their exit code: let oclif finish them.
    if (err instanceof Errors.ExitError || (err.oclif?.exit !== undefined && !(err instanceof Errors.CLIError))) throw err;
    const error = toOnecliError(err, this.id);
    // Only onecli's own flags count: in `onecli run -- agent --json` the --json belongs to the agent.
    const own = this.argv.includes('--') ? this.argv.slice(0, this.argv.indexOf('--')) : this.argv;
    renderError(error, own.includes('--json'));
    process.exitCode = this.exitCodeFor(error);
    return Promise.resolve();
  }
}
