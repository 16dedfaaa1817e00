import { mayHoldPlaceholder, replacePlaceholders } from './placeholder.js';
import type { ProxySecret } from './types.js';

/**
 * Applying a verdict: the request line and headers as they go upstream. Values are fetched per request through
 * valueOf (so a rotation applies to the next request) and exist only in the returned strings, which go straight to
 * the upstream socket.
 */
export interface OutgoingHead {
  /** origin-form request target */
  path: string;
  /** flat [name, value, …] as http.request accepts it */
  headers: string[];
}

/** A secret's value cannot be injected as configured; the message names the secret, never the value. */
export class InjectionError extends Error {
  override readonly name = 'InjectionError';
}

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) and the proxy's own: never forwarded. Transfer-Encoding stays: Node reads it to
 * frame the forwarded body the same way (it re-chunks what its parser de-chunked).
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'upgrade']);
/** on an upgrade request these two carry the upgrade itself and must reach the upstream */
const UPGRADE_HEADERS = new Set(['connection', 'upgrade']);

const TEMPLATE = /\{(value|basic(?::([^}]*))?)\}/g;
const FORBIDDEN_IN_HEADER = /[\r\n\0]/;

/** `{value}` → value; `{basic}` → base64(value); `{basic:USER}` → base64(USER + ":" + value). */
export function renderTemplate(template: string, value: string): string {
  return template.replace(TEMPLATE, (_match, token: string, user: string | undefined) => {
    if (token === 'value') return value;
    return Buffer.from(user === undefined ? value : `${user}:${value}`, 'utf8').toString('base64');
  });
}

/** The request target with `param` set to value (replacing any it already had); other parameters kept byte for byte. */
export function setQueryParam(requestTarget: string, param: string, value: string): string {
  const q = requestTarget.indexOf('?');
  const path = q < 0 ? requestTarget : requestTarget.slice(0, q);
  const kept: string[] = [];
  if (q >= 0) {
    for (const pair of requestTarget.slice(q + 1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const rawKey = eq < 0 ? pair : pair.slice(0, eq);
      let key = rawKey;
      try {
        key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
      } catch {
        // a malformed escape is kept as it is; it cannot be our parameter
      }
      if (key !== param) kept.push(pair);
    }
  }
  kept.push(`${encodeURIComponent(param)}=${encodeURIComponent(value)}`);
  return `${path}?${kept.join('&')}`;
}

function connectionTokens(rawHeaders: readonly string[]): Set<string> | undefined {
  let tokens: Set<string> | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue;
    for (const token of rawHeaders[i + 1]!.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '' && name !== 'close' && name !== 'keep-alive' && name !== 'upgrade') (tokens ??= new Set()).add(name);
    }
  }
  return tokens;
}

/**
 * The head to send upstream: hop-by-hop headers dropped (kept for an upgrade), every placeholder of an injected
 * secret replaced by its value, and each secret's header or query parameter set.
 */
export function buildOutgoingHead(
  requestTarget: string,
  rawHeaders: readonly string[],
  inject: readonly ProxySecret[],
  valueOf: (name: string) => string,
  upgrade: boolean,
): OutgoingHead {
  const replacements: Array<readonly [string, string]> = [];
  const setHeaders: string[] = [];
  const overridden = new Set<string>();
  let path = requestTarget;

  for (const secret of inject) {
    const value = valueOf(secret.name);
    replacements.push([secret.placeholder, value]);
    if (secret.injection.type === 'header') {
      const rendered = renderTemplate(secret.injection.template, value);
      if (FORBIDDEN_IN_HEADER.test(rendered)) {
        throw new InjectionError(`the value of secret ${JSON.stringify(secret.name)} holds a line break or NUL and cannot go in a header`);
      }
      overridden.add(secret.injection.header.toLowerCase());
      setHeaders.push(secret.injection.header, rendered);
    }
  }
  if (replacements.length > 0 && mayHoldPlaceholder(path)) path = replacePlaceholders(path, replacements);
  for (const secret of inject) {
    if (secret.injection.type === 'query') path = setQueryParam(path, secret.injection.param, valueOf(secret.name));
  }

  const listed = connectionTokens(rawHeaders);
  const headers: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) && !(upgrade && UPGRADE_HEADERS.has(lower))) continue;
    if (listed?.has(lower) === true || overridden.has(lower)) continue;
    let value = rawHeaders[i + 1]!;
    if (replacements.length > 0 && (mayHoldPlaceholder(value) || lower === 'authorization')) {
      value = replacePlaceholders(value, replacements);
      if (FORBIDDEN_IN_HEADER.test(value)) throw new InjectionError(`a secret's value holds a line break or NUL and cannot go in the ${JSON.stringify(name)} header`);
    }
    headers.push(name, value);
  }
  for (const item of setHeaders) headers.push(item);
  return { path, headers };
}

/** Response headers for the client: hop-by-hop ones dropped (Transfer-Encoding kept to frame the body the same way). */
export function responseHeaders(rawHeaders: readonly string[]): string[] {
  const listed = connectionTokens(rawHeaders);
  const headers: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const lower = rawHeaders[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed?.has(lower) === true) continue;
    headers.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  return headers;
}
