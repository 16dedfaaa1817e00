import { createRequire } from 'node:module';
import net from 'node:net';
import type { parse as parseDomain } from 'tldts';
import { OnecliError } from '../errors.js';

// The Public Suffix List is only needed when a pattern is first validated (`secret add`), not on every run's
// start-up: loaded on first use, it keeps ~20 ms and ~8 MB out of `onecli run`.
let tldtsParse: typeof parseDomain | undefined;
function parse(host: string, options?: Parameters<typeof parseDomain>[1]): ReturnType<typeof parseDomain> {
  tldtsParse ??= (createRequire(import.meta.url)('tldts') as { parse: typeof parseDomain }).parse;
  return tldtsParse(host, options);
}

/** An exact host ("api.stripe.com") or one leading wildcard label ("*.example.com", which does not match "example.com"). */
export type HostPattern = { type: 'exact'; host: string } | { type: 'wildcard'; suffix: string };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function badPattern(pattern: string, why: string): OnecliError {
  return new OnecliError('E_BAD_PATTERN', `host pattern ${JSON.stringify(pattern)} ${why}`, [
    'use an exact host such as "api.stripe.com" or one leading wildcard such as "*.example.com"',
  ]);
}

function isPublicSuffix(host: string): boolean {
  const parsed = parse(host, { allowPrivateDomains: true });
  // Known suffixes (ICANN or private, e.g. "co.uk", "github.io") are refused; so is any single label ("com", "test").
  return (parsed.publicSuffix === host && (parsed.isIcann === true || parsed.isPrivate === true)) || !host.includes('.');
}

/** Lower-cases, checks and parses a pattern. A bare "*", a public suffix alone, or a wildcard over one are refused. */
export function parseHostPattern(input: string): HostPattern {
  return parsePattern(input, false);
}

/**
 * A pattern read back from the authenticated vault: it passed parseHostPattern when it was added, so the Public
 * Suffix List (and its load time) is skipped; the syntax is still checked.
 */
export function readStoredHostPattern(stored: string): HostPattern {
  return parsePattern(stored, true);
}

function parsePattern(input: string, trusted: boolean): HostPattern {
  const pattern = input.trim().toLowerCase().replace(/\.$/, '');
  if (pattern === '') throw badPattern(input, 'is empty');
  if (pattern === '*' || pattern === '*.*') throw badPattern(input, 'would match every host');
  if (pattern.includes('/') || pattern.includes(':')) {
    if (net.isIPv6(pattern)) return { type: 'exact', host: pattern };
    throw badPattern(input, 'must be a host name only, without scheme, port or path');
  }
  if (net.isIPv4(pattern)) return { type: 'exact', host: pattern };
  const wildcard = pattern.startsWith('*.');
  const host = wildcard ? pattern.slice(2) : pattern;
  const labels = host.split('.');
  if (!labels.every((label) => LABEL.test(label))) throw badPattern(input, 'is not a valid host name (only one leading "*." is allowed)');
  if (trusted) return wildcard ? { type: 'wildcard', suffix: host } : { type: 'exact', host };
  if (wildcard && isPublicSuffix(host)) throw badPattern(input, `would match every site under the public suffix ${JSON.stringify(host)}`);
  if (!wildcard && host !== 'localhost' && isPublicSuffix(host) && parse(host).isIcann === true) {
    throw badPattern(input, 'is a public suffix, not a host');
  }
  return wildcard ? { type: 'wildcard', suffix: host } : { type: 'exact', host };
}

export function formatHostPattern(pattern: HostPattern): string {
  return pattern.type === 'exact' ? pattern.host : `*.${pattern.suffix}`;
}

/** host must already be lower-case without a trailing dot (see normalizeHost). */
export function matchHost(pattern: HostPattern, host: string): boolean {
  if (pattern.type === 'exact') return pattern.host === host;
  return host.length > pattern.suffix.length + 1 && host.endsWith(`.${pattern.suffix}`);
}

export function normalizeHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare.toLowerCase().replace(/\.$/, '');
}
