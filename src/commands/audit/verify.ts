import path from 'node:path';
import { BaseCommand } from '../../cli/base-command.js';
import { withSpinner } from '../../cli/output.js';
import { verifyAudit } from '../../audit/verify.js';
import { OnecliError } from '../../errors.js';
import { unlockVault } from '../../vault/store.js';

export default class AuditVerify extends BaseCommand {
  static override summary = "Check the audit log's tamper evidence: every line's MAC and every session's chain.";
  static override description = 'Unlocks the vault for the audit key, then reads every file in order. Exit 0 with a summary, or the first bad line (E_AUDIT_INVALID). What it can and cannot detect: docs/audit-format.md.';
  static override examples = ['<%= config.bin %> audit verify', 'ONECLI_PASSPHRASE=… <%= config.bin %> audit verify --json'];

  async run(): Promise<void> {
    const { flags } = await this.parse(AuditVerify);
    const { contents } = await withSpinner('Unlocking the vault…', () => unlockVault({ home: this.home, passphrase: this.passphrase() }));
    const result = verifyAudit(this.home, contents.auditKey);
    if (result.problem !== undefined) {
      const { file, line, reason } = result.problem;
      throw new OnecliError('E_AUDIT_INVALID', `audit log line ${line} of ${path.basename(file)}: ${reason}`, [
        `the log in ${JSON.stringify(path.dirname(file))} was changed after it was written; keep a copy as evidence before anything else`,
      ]);
    }
    if (flags.json) return this.printJson(result);
    const open = result.open > 0 ? `, ${result.open} still running` : '';
    this.log(`audit log OK: ${result.files} file(s), ${result.sessions} session(s)${open}, ${result.events} event(s)`);
  }
}
