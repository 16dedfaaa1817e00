import { randomBytes } from 'node:crypto';

/**
 * Placeholders: what the child holds instead of a secret's value. A placeholder keeps the value's well-known prefix
 * (so SDKs that check "sk_live_" or "ghp_" still start), then a fixed marker, then random base62 — nothing else of
 * the value. The marker makes scanning cheap: a request without it cannot carry a placeholder.
 */
export const PLACEHOLDER_MARKER = 'onecliph';
const RANDOM_LENGTH = 32;
/** marker + random part: what identifies a placeholder, whatever prefix the client kept or dropped */
const CORE_LENGTH = PLACEHOLDER_MARKER.length + RANDOM_LENGTH;

/**
 * Well-known public prefixes of API keys. Only these are kept: any other leading characters of a value could be
 * secret material. Longer prefixes come before their own prefixes (e.g. "sk-ant-api03-" before "sk-ant-" before "sk-").
 */
export const KNOWN_PREFIXES: readonly string[] = [
  // Stripe
  'sk_live_', 'sk_test_', 'rk_live_', 'rk_test_', 'pk_live_', 'pk_test_', 'whsec_',
  // GitHub, GitLab
  'github_pat_', 'ghp_', 'gho_', 'ghs_', 'ghu_', 'ghr_', 'glpat-',
  // Anthropic, OpenAI and other model APIs
  'sk-ant-api03-', 'sk-ant-admin01-', 'sk-ant-', 'sk-proj-', 'sk-svcacct-', 'sk-admin-', 'sk-or-v1-', 'sk-',
  'gsk_', 'pplx-', 'r8_', 'hf_', 'xai-',
  // Slack, SendGrid, Linear, Notion, Mailgun
  'xoxb-', 'xoxp-', 'xoxa-', 'xapp-', 'SG.', 'lin_api_', 'secret_', 'ntn_', 'key-',
  // Package registries, cloud and SaaS
  'npm_', 'pypi-', 'dop_v1_', 'shpat_', 'shpss_', 'AIza',
].slice().sort((a, b) => b.length - a.length);

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 * 62: rejecting the rest keeps every character equally likely.
      if (byte < 248 && out.length < length) out += BASE62[byte % 62]!;
    }
  }
  return out;
}

/** The value's well-known prefix, or "" when it has none. */
export function knownPrefix(value: string): string {
  return KNOWN_PREFIXES.find((prefix) => value.startsWith(prefix)) ?? '';
}

/** A fresh placeholder for a value: its known prefix (if any), the marker, 32 random base62 characters. */
export function makePlaceholder(value: string): string {
  return `${knownPrefix(value)}${PLACEHOLDER_MARKER}${randomBase62(RANDOM_LENGTH)}`;
}

/** Cheap pre-check: text that lacks the marker holds no placeholder. */
export function mayHoldPlaceholder(text: string): boolean {
  return text.includes(PLACEHOLDER_MARKER);
}

export interface PlaceholderOwner {
  name: string;
  placeholder: string;
}

/**
 * The run's placeholders, indexed by their core (marker + random part), so a scan costs one indexOf for the marker
 * and one map lookup per hit. A core found without its prefix still counts: the prefix is public, the core is not.
 */
export class PlaceholderIndex<T extends PlaceholderOwner> {
  private readonly byCore = new Map<string, T>();

  constructor(owners: readonly T[]) {
    for (const owner of owners) {
      const at = owner.placeholder.indexOf(PLACEHOLDER_MARKER);
      if (at >= 0) this.byCore.set(owner.placeholder.slice(at, at + CORE_LENGTH), owner);
    }
  }

  get size(): number {
    return this.byCore.size;
  }

  /** Adds to `found` every owner whose placeholder occurs in text (raw, or inside an HTTP Basic credential). */
  scan(text: string, found: Set<T>): void {
    let at = text.indexOf(PLACEHOLDER_MARKER);
    while (at >= 0) {
      const owner = this.byCore.get(text.slice(at, at + CORE_LENGTH));
      if (owner !== undefined) found.add(owner);
      at = text.indexOf(PLACEHOLDER_MARKER, at + PLACEHOLDER_MARKER.length);
    }
    const basic = decodeBasic(text);
    if (basic !== undefined) this.scan(basic, found);
  }
}

const BASIC = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i;

/** The decoded credential of a `Basic base64(user:pass)` header value, or undefined for anything else. */
export function decodeBasic(text: string): string | undefined {
  // "Basic " is 6 characters; a short string or one without "asic" cannot be a Basic credential.
  if (text.length < 8 || !/^\s*basic\s/i.test(text)) return undefined;
  const match = BASIC.exec(text);
  if (match === null) return undefined;
  return Buffer.from(match[1]!, 'base64').toString('latin1');
}

/** Replaces every occurrence of each placeholder in text by its replacement; also inside a Basic credential. */
export function replacePlaceholders(text: string, replacements: ReadonlyArray<readonly [placeholder: string, value: string]>): string {
  let out = text;
  for (const [placeholder, value] of replacements) {
    if (out.includes(placeholder)) out = out.split(placeholder).join(value);
  }
  if (out === text) {
    const basic = decodeBasic(text);
    if (basic !== undefined && mayHoldPlaceholder(basic)) {
      // The credential is bytes: values go in as their UTF-8 bytes, seen through latin1 like the decoded text.
      const asBytes = replacements.map(([placeholder, value]) => [placeholder, Buffer.from(value, 'utf8').toString('latin1')] as const);
      const replaced = replacePlaceholders(basic, asBytes);
      if (replaced !== basic) out = `Basic ${Buffer.from(replaced, 'latin1').toString('base64')}`;
    }
  }
  return out;
}
