import type { Duplex } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Keeps a fast transfer's garbage from piling up. Every TLS read hands the proxy a fresh 16 KiB buffer that dies at
 * once, but its memory lives outside the JS heap and is freed only when a young-generation GC runs; the few small
 * objects per buffer fill the young generation so slowly that ~35 MB of dead buffers built up between collections
 * during a 256 MiB transfer (RSS ~120 MB against ~85 MB idle). A minor GC after every PACE_BYTES relayed keeps that
 * bounded; it costs well under a millisecond, a few dozen times a second at full speed.
 */
const PACE_BYTES = 4 * 1024 * 1024;

type Collect = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

let collect: Collect | null | undefined;
let relayed = 0;

function minorGc(): void {
  if (collect === undefined) {
    try {
      // gc() exists only with --expose-gc, which onecli's own start does not pass; the flag still applies to a new context.
      v8.setFlagsFromString('--expose-gc');
      const fn: unknown = vm.runInNewContext('gc');
      collect = typeof fn === 'function' ? (fn as Collect) : null;
    } catch {
      collect = null;
    }
  }
  collect?.({ type: 'minor' });
}

/** Counts bytes the proxy relayed; now and then runs a minor GC so their dead buffers are freed. */
export function noteRelayed(bytes: number): void {
  relayed += bytes;
  if (relayed < PACE_BYTES) return;
  relayed = 0;
  minorGc();
}

/**
 * Pipes two raw byte streams into each other (a blind tunnel, a WebSocket after its upgrade), counting each side's
 * bytes for the audit record and pacing the GC. How each side closes stays with the caller.
 */
export function relayBothWays(client: Duplex, upstream: Duplex, count: (from: 'client' | 'upstream', bytes: number) => void): void {
  client.on('data', (chunk: Buffer) => {
    count('client', chunk.length);
    noteRelayed(chunk.length);
  });
  upstream.on('data', (chunk: Buffer) => {
    count('upstream', chunk.length);
    noteRelayed(chunk.length);
  });
  client.pipe(upstream);
  upstream.pipe(client);
}
