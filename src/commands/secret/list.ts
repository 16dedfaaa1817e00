import { BaseCommand } from '../../cli/base-command.js';
import { formatTable, withSpinner } from '../../cli/output.js';
import { describeInjection, secretView } from '../../cli/views.js';
import { redact } from '../../vault/secret.js';
import { unlockVault } from '../../vault/store.js';

export default class SecretList extends BaseCommand {
  static override summary = 'List the secrets: names and rules, never values.';
  static override examples = ['<%= config.bin %> secret list', '<%= config.bin %> secret list --json'];

  async run(): Promise<void> {
    const { flags } = await this.parse(SecretList);
    const { contents } = await withSpinner('Unlocking the vault…', () => unlockVault({ home: this.home, passphrase: this.passphrase() }));
    const secrets = contents.secrets.map(redact).sort((a, b) => a.name.localeCompare(b.name));
    if (flags.json) return this.printJson({ secrets: secrets.map(secretView) });
    if (secrets.length === 0) {
      this.logToStderr('No secrets yet. Add one with `onecli secret add NAME` (try `onecli secret add --list-presets`).');
      return;
    }
    const rows = secrets.map((s) => [s.name, s.hosts.join(','), describeInjection(s), s.env ?? '-', `v${s.version}`, (s.rotated ?? s.created).slice(0, 10)]);
    for (const line of formatTable([['NAME', 'HOSTS', 'INJECTION', 'ENV', 'VERSION', 'CHANGED'], ...rows])) this.log(line);
  }
}
