import type { AuditSink, RequestRecord } from '../proxy/types.js';
import { requestEvent } from './event.js';
import type { AuditWriter } from './writer.js';

/**
 * The proxy's view of the writer. record() never throws into the proxy's socket handlers: a line that cannot be
 * written leaves the writer unhealthy, so healthy() turns false and problem() says why, and the proxy refuses every
 * request after it (fail closed). The proxy should check healthy() before it injects anything.
 */
export function createAuditSink(writer: AuditWriter): AuditSink {
  return {
    healthy: () => writer.healthy,
    problem: () => writer.problem,
    record(record: RequestRecord): void {
      try {
        writer.append(requestEvent(record));
      } catch {
        // writer.problem now holds the reason; nothing is dropped silently, because nothing is forwarded from here on
      }
    },
  };
}
