import { Args } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { withSpinner } from '../../cli/output.js';
import { describeInjection, secretView } from '../../cli/views.js';
import { findSecret } from '../../vault/secret.js';
import { unlockVault } from '../../vault/store.js';

export default class SecretShow extends BaseCommand {
  static override summary = "Show one secret's rules and history (never its value).";
  static override examples = ['<%= config.bin %> secret show stripe', '<%= config.bin %> secret show stripe --json'];
  static override args = { name: Args.string({ description: 'Secret name', required: true }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SecretShow);
    const { contents } = await withSpinner('Unlocking the vault…', () => unlockVault({ home: this.home, passphrase: this.passphrase() }));
    const view = secretView(findSecret(contents.secrets, args.name));
    if (flags.json) return this.printJson({ secret: view });
    const lines: Array<[string, string]> = [
      ['name', view.name],
      ['hosts', view.hosts.join(', ')],
      ['paths', view.paths.length ? view.paths.join(', ') : '(every path)'],
      ['injection', describeInjection(view)],
      ['env', view.env ?? '(none)'],
      ['plain http', view.allow_http ? 'allowed' : 'refused (HTTPS only)'],
      ['preset', view.preset ?? '(none)'],
      ['version', String(view.version)],
      ['created', view.created],
      ['rotated', view.rotated ?? '(never)'],
    ];
    for (const [key, value] of lines) this.log(`${key.padEnd(11)}${value}`);
  }
}
