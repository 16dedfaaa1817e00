import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The keyed chain. A line is the canonical JSON of its fields (fixed order, no white space) with `"mac"` appended as
 * the last member; the MAC covers those exact bytes, so the verifier never re-serialises and any changed byte fails.
 */

/** prev of a session's first line */
export const START_MARKER = 'start';

/** Domain separation: this key only ever MACs audit lines, but the label keeps a future second use apart. */
const LABEL = 'onecli-audit-v1\n';
const MAC_SUFFIX = /,"mac":"([0-9a-f]{64})"\}$/;

export function computeMac(key: Buffer, canonical: string): string {
  return createHmac('sha256', key).update(LABEL).update(canonical).digest('hex');
}

/** The whole line, newline included, for fields already in their on-disk order. */
export function sealLine(key: Buffer, fields: ReadonlyArray<readonly [string, unknown]>): { line: string; mac: string } {
  const canonical = JSON.stringify(Object.fromEntries(fields));
  const mac = computeMac(key, canonical);
  return { line: `${canonical.slice(0, -1)},"mac":"${mac}"}\n`, mac };
}

/** Splits a line (without its newline) into the MACed bytes and the mac, or null when it has no well-formed mac. */
export function splitLine(raw: string): { canonical: string; mac: string } | null {
  const found = MAC_SUFFIX.exec(raw);
  if (!found || !raw.startsWith('{')) return null;
  return { canonical: `${raw.slice(0, found.index)}}`, mac: found[1]! };
}

export function macMatches(key: Buffer, canonical: string, mac: string): boolean {
  const expected = Buffer.from(computeMac(key, canonical), 'hex');
  return timingSafeEqual(expected, Buffer.from(mac, 'hex'));
}

/** The mac of a line read back as text (tail, anchors); no check. */
export function macOf(raw: string): string | null {
  return MAC_SUFFIX.exec(raw)?.[1] ?? null;
}
