import { formatHostPattern, matchHost } from '../policy/host-pattern.js';
import { matchPaths } from '../policy/path-pattern.js';
import { PlaceholderIndex } from './placeholder.js';
import { formatTarget, type Target } from './target.js';
import type { ProxySecret } from './types.js';

/**
 * The proxy's decisions as pure functions of a request's destination, line and headers — no sockets, so every rule
 * is unit-tested directly.
 */
export type Verdict =
  /** forward; inject these secrets (none: forward untouched) */
  | { type: 'forward'; inject: readonly ProxySecret[] }
  | { type: 'refuse'; status: 403; reason: string; secrets: string[] };

// Host names come from clients; bounding the memo keeps a client that tries endless names from growing memory.
const MAX_MEMO_HOSTS = 1024;

/** The path part of a request target, without the query string. */
export function pathOf(requestTarget: string): string {
  const q = requestTarget.indexOf('?');
  return q < 0 ? requestTarget : requestTarget.slice(0, q);
}

/**
 * The path with dot segments and percent-encoded dots resolved, as an upstream that normalizes would see it; the
 * same string when there is nothing to resolve. Used so "/v1/../admin" can never pass for a "/v1/*" path.
 */
function resolvedPath(path: string): string {
  if (!path.includes('/.') && !/%2e/i.test(path)) return path;
  try {
    return new URL(path, 'http://onecli.invalid').pathname;
  } catch {
    return path;
  }
}

/** Both the path as sent and as a normalizing server would read it must match: neither reading may escape. */
export function pathAllowed(secret: ProxySecret, path: string): boolean {
  if (secret.paths.length === 0) return true;
  if (!matchPaths(secret.paths, path)) return false;
  const resolved = resolvedPath(path);
  return resolved === path || matchPaths(secret.paths, resolved);
}

export function hostAllowed(secret: ProxySecret, host: string): boolean {
  return secret.hosts.some((pattern) => matchHost(pattern, host));
}

function describeDestination(secret: ProxySecret): string {
  const hosts = secret.hosts.map(formatHostPattern).join(', ');
  const schemes = secret.allowHttp ? 'https or http' : 'https';
  const paths = secret.paths.length === 0 ? '' : ` paths ${secret.paths.map((p) => p.source).join(', ')}`;
  return `${hosts} (${schemes})${paths}`;
}

/** Why a secret does not match a destination, in plain words. */
export function whyNot(secret: ProxySecret, target: Target, path: string): string {
  if (!hostAllowed(secret, target.host)) return `it is bound to ${describeDestination(secret)}`;
  if (target.scheme === 'http' && !secret.allowHttp) return 'it may not be sent over plain http';
  return `the path ${JSON.stringify(path)} is outside ${secret.paths.map((p) => p.source).join(', ')}`;
}

export class Rules {
  private readonly secrets: readonly ProxySecret[];
  private readonly placeholders: PlaceholderIndex<ProxySecret>;
  private readonly byHost = new Map<string, readonly ProxySecret[]>();

  constructor(secrets: readonly ProxySecret[]) {
    this.secrets = secrets;
    this.placeholders = new PlaceholderIndex(secrets);
  }

  /** The secrets whose host patterns match host (scheme and path not yet considered). */
  secretsForHost(host: string): readonly ProxySecret[] {
    let found = this.byHost.get(host);
    if (found === undefined) {
      found = this.secrets.filter((secret) => hostAllowed(secret, host));
      if (this.byHost.size >= MAX_MEMO_HOSTS) this.byHost.clear();
      this.byHost.set(host, found);
    }
    return found;
  }

  /** Whether a CONNECT to host is decrypted: some secret may be injected there. */
  intercepts(host: string): boolean {
    return this.secretsForHost(host).length > 0;
  }

  /**
   * The verdict for one request. requestTarget is the origin-form path with query; rawHeaders is the flat
   * [name, value, …] list as received. A placeholder of a secret that does not match this destination refuses the
   * request, so it never leaves the machine.
   */
  check(target: Target, requestTarget: string, rawHeaders: readonly string[]): Verdict {
    const path = pathOf(requestTarget);
    const candidates = this.secretsForHost(target.host);
    let inject: ProxySecret[] | readonly ProxySecret[] = candidates;
    if (candidates.length > 0 && (target.scheme === 'http' || candidates.some((secret) => secret.paths.length > 0))) {
      inject = candidates.filter((secret) => (target.scheme === 'https' || secret.allowHttp) && pathAllowed(secret, path));
    }
    if (this.placeholders.size === 0) return { type: 'forward', inject };

    const found = new Set<ProxySecret>();
    this.placeholders.scan(requestTarget, found);
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      // Proxy-Authorization is for the proxy and never forwarded, so it is not a destination for placeholders.
      if (rawHeaders[i]!.length === 19 && rawHeaders[i]!.toLowerCase() === 'proxy-authorization') continue;
      this.placeholders.scan(rawHeaders[i + 1]!, found);
    }
    const foreign = [...found].filter((secret) => !inject.includes(secret));
    if (foreign.length === 0) return { type: 'forward', inject };
    const where = `${formatTarget(target)}${path}`;
    const reasons = foreign.map((secret) => `the placeholder of secret ${JSON.stringify(secret.name)} may not go to ${where}: ${whyNot(secret, target, path)}`);
    return { type: 'refuse', status: 403, reason: reasons.join('; '), secrets: foreign.map((secret) => secret.name) };
  }

  /** The rules in words, like mockttp's explain(): one line per secret. */
  explain(): string[] {
    return this.secrets.map((secret) => {
      const how = secret.injection.type === 'header' ? `header ${secret.injection.header}` : `query parameter ${secret.injection.param}`;
      return `secret ${JSON.stringify(secret.name)}: inject ${how} into requests to ${describeDestination(secret)}`;
    });
  }
}
