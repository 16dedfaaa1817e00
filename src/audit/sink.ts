import type { AuditSink, RequestRecord } from '../proxy/types.js';
import { requestEvent } from './event.js';
import type { AuditWriter } from './writer.js';

/**
 * The proxy's view of the writer. record() throws E_AUDIT_UNAVAILABLE when the line cannot be written; from then on
 * healthy() is false and problem() says why, so the proxy refuses what it cannot record.
 */
export function createAuditSink(writer: AuditWriter): AuditSink {
  return {
    healthy: () => writer.healthy,
    problem: () => writer.problem,
    record: (record: RequestRecord) => writer.append(requestEvent(record)),
  };
}
