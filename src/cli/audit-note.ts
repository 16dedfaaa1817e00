import { recordCommandEvent } from '../audit/writer.js';
import type { AuditEventInput } from '../audit/event.js';
import { isOnecliError } from '../errors.js';
import { onecliHome } from '../home.js';
import { colorFor } from './output.js';

/**
 * Records a vault change in the audit log as a one-event session. The change itself already happened: a log that
 * cannot be written is reported loudly, but does not undo it.
 */
export function recordChange(command: { id: string | undefined }, auditKey: Buffer, event: AuditEventInput): void {
  const agent = ['onecli', ...(command.id ?? '').split(':').filter(Boolean)];
  try {
    recordCommandEvent({ home: onecliHome(), key: auditKey, agent, event });
  } catch (err) {
    const why = isOnecliError(err) ? err.message : String(err);
    process.stderr.write(`${colorFor(process.stderr).yellow('onecli: warning:')} the change was made but not recorded in the audit log: ${why}\n`);
  }
}
