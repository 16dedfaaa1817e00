import { Args } from '@oclif/core';
import { recordChange } from '../../cli/audit-note.js';
import { BaseCommand } from '../../cli/base-command.js';
import { withSpinner } from '../../cli/output.js';
import { findSecret } from '../../vault/secret.js';
import { updateVault } from '../../vault/store.js';

export default class SecretRm extends BaseCommand {
  static override summary = 'Remove a secret from the vault.';
  static override examples = ['<%= config.bin %> secret rm stripe'];
  static override args = { name: Args.string({ description: 'Secret name', required: true }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SecretRm);
    const auditKey = await withSpinner('Unlocking the vault…', () =>
      updateVault({ home: this.home, passphrase: this.passphrase() }, (contents) => {
        const secret = findSecret(contents.secrets, args.name);
        contents.secrets = contents.secrets.filter((s) => s !== secret);
        return contents.auditKey;
      }),
    );
    recordChange(this, auditKey, { event: 'secret.remove', secret: args.name });
    if (flags.json) return this.printJson({ removed: args.name });
    this.logToStderr(`Removed ${JSON.stringify(args.name)}.`);
  }
}
