import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBasic, knownPrefix, makePlaceholder, mayHoldPlaceholder, PLACEHOLDER_MARKER, PlaceholderIndex, replacePlaceholders } from '../../../src/proxy/placeholder.js';

describe('placeholders', () => {
  it('keeps a known prefix, then the marker and 32 random base62 characters', () => {
    const cases: Array<[string, string]> = [
      ['sk_live_51HxAbCdEf', 'sk_live_'],
      ['sk-ant-api03-abcdef', 'sk-ant-api03-'],
      ['sk-proj-abcdef', 'sk-proj-'],
      ['sk-abcdef', 'sk-'],
      ['github_pat_11ABC', 'github_pat_'],
      ['ghp_abc', 'ghp_'],
      ['xoxb-123-456', 'xoxb-'],
      ['SG.abc.def', 'SG.'],
      ['lin_api_abc', 'lin_api_'],
      ['plainrandomvalue', ''],
    ];
    for (const [value, prefix] of cases) {
      const placeholder = makePlaceholder(value);
      expect(knownPrefix(value)).toBe(prefix);
      expect(placeholder).toMatch(new RegExp(`^${prefix.replace(/[.]/g, '\\.')}${PLACEHOLDER_MARKER}[A-Za-z0-9]{32}$`));
    }
  });

  it('is fresh every time, even for the same value', () => {
    const seen = new Set(Array.from({ length: 200 }, () => makePlaceholder('sk_live_same')));
    expect(seen.size).toBe(200);
  });

  it('carries nothing of the value beyond its public prefix', () => {
    fc.assert(
      fc.property(fc.constantFrom('', 'sk_live_', 'ghp_', 'sk-ant-'), fc.string({ minLength: 12, maxLength: 64 }), (prefix, rest) => {
        const value = `${prefix}${rest}`;
        const placeholder = makePlaceholder(value);
        const tail = value.slice(knownPrefix(value).length);
        // Any 8-character window of the secret part would be a leak; a random match has odds below 2^-40.
        for (let i = 0; i + 8 <= tail.length; i++) expect(placeholder.includes(tail.slice(i, i + 8))).toBe(false);
      }),
    );
  });

  it('finds placeholders by their marker, also without their prefix and inside Basic credentials', () => {
    const a = { name: 'a', placeholder: makePlaceholder('sk_live_x') };
    const b = { name: 'b', placeholder: makePlaceholder('ghp_x') };
    const index = new PlaceholderIndex([a, b]);
    const scan = (text: string) => {
      const found = new Set<typeof a>();
      index.scan(text, found);
      return [...found].map((owner) => owner.name).sort();
    };
    expect(scan('nothing here')).toEqual([]);
    expect(scan(`Bearer ${a.placeholder}`)).toEqual(['a']);
    expect(scan(`x=${a.placeholder.slice(8)}&y=${b.placeholder}`)).toEqual(['a', 'b']);
    expect(scan(`Basic ${Buffer.from(`user:${b.placeholder}`).toString('base64')}`)).toEqual(['b']);
    expect(scan(`${PLACEHOLDER_MARKER}${'Z'.repeat(32)}`)).toEqual([]);
    expect(mayHoldPlaceholder('abc')).toBe(false);
  });

  it('replaces placeholders everywhere in a string, and inside a Basic credential as UTF-8 bytes', () => {
    const placeholder = makePlaceholder('sk_live_x');
    expect(replacePlaceholders(`${placeholder} and ${placeholder}`, [[placeholder, 'V']])).toBe('V and V');
    const basic = replacePlaceholders(`Basic ${Buffer.from(`me:${placeholder}`).toString('base64')}`, [[placeholder, 'välue']]);
    expect(Buffer.from(basic.slice(6), 'base64').toString('utf8')).toBe('me:välue');
    expect(decodeBasic('Bearer abc')).toBeUndefined();
  });
});
