import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { withSpinner } from '../cli/output.js';
import { vaultView } from '../cli/views.js';
import { vaultPath } from '../home.js';
import { initVault } from '../vault/store.js';

export default class Init extends BaseCommand {
  static override summary = 'Create the encrypted vault.';
  static override description = `The vault's master key is a random 256-bit key kept in the OS keychain (Secret Service on Linux). With --passphrase, or when ONECLI_PASSPHRASE is set, a passphrase protects it instead. An existing vault is never overwritten. The vault lives in ONECLI_HOME (default: $XDG_DATA_HOME/onecli or ~/.local/share/onecli).`;
  static override examples = [
    { description: 'Keep the master key in the OS keychain', command: '<%= config.bin %> init' },
    { description: 'Protect the vault with a passphrase (asked twice)', command: '<%= config.bin %> init --passphrase' },
    { description: 'Non-interactive, e.g. in CI', command: 'ONECLI_PASSPHRASE=… <%= config.bin %> init' },
  ];
  static override flags = {
    passphrase: Flags.boolean({ description: 'Protect the vault with a passphrase instead of the OS keychain.', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Init);
    const master = flags.passphrase || process.env['ONECLI_PASSPHRASE'] !== undefined ? 'passphrase' : 'keychain';
    const { header } = await withSpinner('Creating the vault (Argon2id)…', () =>
      initVault({ home: this.home, master, passphrase: this.passphrase('ONECLI_PASSPHRASE') }),
    );
    const view = vaultView(vaultPath(this.home), header);
    if (flags.json) return this.printJson({ vault: view });
    this.logToStderr(`Created a vault at ${view.path} (master key: ${master === 'keychain' ? 'OS keychain' : 'passphrase'}).`);
    this.logToStderr('Next: `onecli secret add stripe` (value on stdin or at the prompt), then `onecli run -- <agent>`.');
  }
}
