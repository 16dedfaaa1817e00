import { OnecliError } from '../errors.js';

/**
 * A path glob: "*" matches within one segment, a trailing "/*" matches everything below (so "/v1/*" matches
 * "/v1/charges" and "/v1/charges/ch_1"), "**" matches across segments. Matched on the path without the query string.
 */
export interface PathPattern {
  source: string;
  regex: RegExp;
}

export function parsePathPattern(input: string): PathPattern {
  const source = input.trim();
  const hint = 'use a path glob such as "/v1/*" (starts with "/", no query string, no spaces)';
  if (!source.startsWith('/')) throw new OnecliError('E_BAD_PATTERN', `path pattern ${JSON.stringify(input)} must start with "/"`, hint);
  if (/[?#\s]/.test(source) || source.length > 512) {
    throw new OnecliError('E_BAD_PATTERN', `path pattern ${JSON.stringify(input)} may not hold "?", "#" or white space`, hint);
  }
  let body = '';
  const trailing = source.endsWith('/*');
  const core = trailing ? source.slice(0, -2) : source;
  for (let i = 0; i < core.length; i++) {
    const ch = core[i]!;
    if (ch === '*' && core[i + 1] === '*') {
      body += '.*';
      i++;
    } else if (ch === '*') {
      body += '[^/]*';
    } else {
      body += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  if (trailing) body += '(?:/.*)?';
  return { source, regex: new RegExp(`^${body}$`) };
}

/** path: the request path without query string. An empty list of patterns allows every path. */
export function matchPaths(patterns: readonly PathPattern[], path: string): boolean {
  return patterns.length === 0 || patterns.some((pattern) => pattern.regex.test(path));
}
