import { Args, Flags } from '@oclif/core';
import { recordChange } from '../cli/audit-note.js';
import { BaseCommand } from '../cli/base-command.js';
import { readSecretValue } from '../cli/input.js';
import { withSpinner } from '../cli/output.js';
import { secretView, vaultView } from '../cli/views.js';
import { OnecliError } from '../errors.js';
import { vaultPath } from '../home.js';
import { findSecret, redact } from '../vault/secret.js';
import { rotateMaster, updateVault } from '../vault/store.js';

export default class Rotate extends BaseCommand {
  static override summary = "Replace a secret's value, or the vault's master key.";
  static override description = `rotate NAME reads the new value from stdin (when it is not a terminal) or a hidden prompt; the version goes up by one and running \`onecli run\` sessions use the new value from their next request. rotate --master re-encrypts the vault under a new master key (keychain vaults) or a new passphrase (from ONECLI_NEW_PASSPHRASE or a prompt), atomically.`;
  static override examples = [
    { description: 'New value from a pipe', command: 'printf %s "$NEW_KEY" | <%= config.bin %> rotate stripe' },
    { description: 'New master key in the keychain', command: '<%= config.bin %> rotate --master' },
    { description: 'New passphrase, non-interactive', command: 'ONECLI_PASSPHRASE=old ONECLI_NEW_PASSPHRASE=new <%= config.bin %> rotate --master' },
  ];
  static override args = { name: Args.string({ description: 'Secret name', required: false }) };
  static override flags = {
    master: Flags.boolean({ description: 'Rotate the master key (or passphrase) instead of a secret.', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Rotate);
    if (flags.master === (args.name !== undefined)) {
      throw new OnecliError('E_USAGE', 'give either a secret NAME or --master', ['e.g. `onecli rotate stripe` or `onecli rotate --master`']);
    }
    if (flags.master) return this.rotateMaster(flags.json);
    const name = args.name as string;
    const value = await readSecretValue(name);
    const { secret, auditKey } = await withSpinner('Unlocking the vault…', () =>
      updateVault({ home: this.home, passphrase: this.passphrase() }, (contents) => {
        const record = findSecret(contents.secrets, name);
        record.value = value;
        record.version += 1;
        record.rotated = new Date().toISOString();
        return { secret: redact(record), auditKey: contents.auditKey };
      }),
    );
    recordChange(this, auditKey, { event: 'secret.rotate', secret: name, version: secret.version });
    if (flags.json) return this.printJson({ secret: secretView(secret) });
    this.logToStderr(`Rotated ${JSON.stringify(name)} to version ${secret.version}; running sessions use it from their next request.`);
  }

  private async rotateMaster(json: boolean): Promise<void> {
    const { after, auditKey } = await withSpinner('Re-encrypting the vault under a new master key…', () =>
      rotateMaster({ home: this.home, passphrase: this.passphrase('ONECLI_NEW_PASSPHRASE') }),
    );
    recordChange(this, auditKey, { event: 'master.rotate', master: after.master });
    const view = vaultView(vaultPath(this.home), after);
    if (json) return this.printJson({ vault: view });
    this.logToStderr(`Rotated the master ${after.master === 'keychain' ? 'key (OS keychain)' : 'passphrase'}; the vault was re-encrypted.`);
  }
}
