import { BaseCommand } from '../cli/base-command.js';
import { colorFor, formatTable } from '../cli/output.js';
import { runDoctor } from '../doctor.js';

export default class Doctor extends BaseCommand {
  static override summary = 'Check what works here: keychain, vault permissions, agent runtimes.';
  static override description = 'Exits 1 when a check fails (a vault others can read, a keychain vault whose key is missing), 0 otherwise.';
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json'];

  async run(): Promise<void> {
    const { flags } = await this.parse(Doctor);
    const checks = await runDoctor(this.home);
    const failed = checks.some((check) => check.status === 'fail');
    if (flags.json) this.printJson({ ok: !failed, checks });
    else {
      const color = colorFor(process.stdout);
      const mark = { ok: color.green('ok'), warn: color.yellow('warn'), fail: color.red('FAIL') } as const;
      const rows = checks.map((c) => [mark[c.status], c.name, c.detail]);
      // eslint-disable-next-line no-control-regex
      for (const line of formatTable(rows, (cell) => cell.replace(/\x1b\[[0-9;]*m/g, '').length)) this.log(line);
    }
    if (failed) process.exitCode = 1;
  }
}
