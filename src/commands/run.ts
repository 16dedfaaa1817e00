import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { colorFor } from '../cli/output.js';
import { ERROR_CODES, OnecliError } from '../errors.js';
import { parseResolveRule } from '../run/resolve-rule.js';
import { runAgent } from '../run/run-session.js';

export default class Run extends BaseCommand {
  static override summary = 'Run a command behind a per-run proxy that injects your secrets into its requests.';
  static override description = `Everything after -- is the command. It gets HTTP(S)_PROXY pointing at a fresh proxy on a random loopback port (with a one-time token), a CA bundle that trusts the run's own CA, a Node preload, and — for each secret with an env var — a placeholder instead of the value. Requests to a secret's hosts get the real credential; every decision goes to the audit log. onecli exits with the command's exit code (128+N for signal N, 127 not found, 126 not executable, 125 when onecli failed before the command started).`;
  static override examples = [
    { description: 'Run an agent with every secret', command: '<%= config.bin %> run -- python agent.py' },
    { description: 'Only the stripe secret', command: '<%= config.bin %> run --secret stripe -- node agent.mjs' },
    { description: 'Send api.example.com:443 to a local server', command: '<%= config.bin %> run --resolve api.example.com:443:127.0.0.1:8443 -- curl https://api.example.com/v1/me' },
    { description: 'Refuse every host no secret matches', command: '<%= config.bin %> run --deny-unmatched -- claude' },
  ];
  static override strict = false;
  static override flags = {
    secret: Flags.string({ description: 'Limit the run to this secret (repeatable).', multiple: true }),
    resolve: Flags.string({ description: 'Connect HOST:PORT to ADDR[:PORT2] instead (repeatable), like curl --resolve.', multiple: true }),
    'deny-unmatched': Flags.boolean({ description: 'Refuse connections to hosts that no secret matches.', default: false }),
    'inspect-all': Flags.boolean({ description: 'Decrypt and audit every HTTPS host, blocking foreign placeholders.', default: false }),
  };

  protected override exitCodeFor(): number {
    // Whatever went wrong, it went wrong before the command started (afterwards the command's own code is returned).
    return ERROR_CODES.E_RUN_FAILED.exit;
  }

  async run(): Promise<void> {
    const split = this.argv.indexOf('--');
    const [command, ...args] = split === -1 ? [] : this.argv.slice(split + 1);
    const { flags } = await this.parse(Run, split === -1 ? this.argv : this.argv.slice(0, split));
    if (command === undefined || command === '') {
      throw new OnecliError('E_USAGE', 'no command to run', ['put the command after --, e.g. `onecli run -- node agent.mjs`']);
    }
    const result = await runAgent({
      home: this.home,
      env: process.env,
      passphrase: this.passphrase(),
      command,
      args,
      secrets: flags.secret ?? [],
      resolve: (flags.resolve ?? []).map(parseResolveRule),
      denyUnmatched: flags['deny-unmatched'],
      inspectAll: flags['inspect-all'],
    });
    const color = colorFor(process.stderr);
    const warn = color.yellow('onecli: warning:');
    if (result.child.spawnError !== null) {
      const what = result.child.spawnError === 'ENOENT' ? 'command not found' : `cannot execute the command (${result.child.spawnError})`;
      process.stderr.write(`${color.red('onecli: error:')} ${what}: ${JSON.stringify(command)}\n`);
    }
    if (result.auditProblem !== undefined) {
      process.stderr.write(`${warn} the audit log could not be written (${result.auditProblem}); the proxy refused requests it could not record\n`);
    }
    process.exitCode = result.exitCode;
  }
}
