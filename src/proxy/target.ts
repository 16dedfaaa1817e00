import net from 'node:net';
import { normalizeHost } from '../policy/host-pattern.js';

/**
 * Destinations as the proxy reads them from a CONNECT line or an absolute-form URL. The destination is always the
 * one the proxy itself connects to, never a Host header the client could set to anything.
 */
export interface Target {
  scheme: 'http' | 'https';
  /** normalized: lower-case, no brackets, no trailing dot */
  host: string;
  port: number;
}

export interface AbsoluteForm {
  target: Target;
  /** origin-form request target ("/path?query"), exactly as the client sent it */
  path: string;
}

const HOST_NAME = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?$/i;
const PORT = /^[0-9]{1,5}$/;

/**
 * `host`, `host:port`, `[v6]` or `[v6]:port` → host and port; undefined when malformed. Without a default port (a
 * CONNECT target, RFC 9110 §9.3.6) the port is required.
 */
export function parseAuthority(authority: string, defaultPort: number | undefined): { host: string; port: number } | undefined {
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0) return undefined;
    host = authority.slice(1, end);
    if (!net.isIPv6(host)) return undefined;
    const rest = authority.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) return undefined;
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = authority.indexOf(':');
    if (colon !== authority.lastIndexOf(':')) return undefined;
    host = colon < 0 ? authority : authority.slice(0, colon);
    portText = colon < 0 ? undefined : authority.slice(colon + 1);
    if (!HOST_NAME.test(host)) return undefined;
  }
  let port = defaultPort;
  if (portText === undefined && port === undefined) return undefined;
  if (portText !== undefined) {
    if (!PORT.test(portText)) return undefined;
    port = Number(portText);
    if (port < 1 || port > 65535) return undefined;
  }
  if (port === undefined) return undefined;
  const normalized = normalizeHost(host);
  return normalized === '' ? undefined : { host: normalized, port };
}

/**
 * `http://host[:port]/path?q` or `https://…` → the target and the origin-form path, kept byte for byte (no dot-segment
 * resolution: the upstream must see what the client sent). User info in the authority is refused.
 */
export function parseAbsoluteForm(url: string): AbsoluteForm | undefined {
  const sep = url.indexOf('://');
  if (sep < 0) return undefined;
  const scheme = url.slice(0, sep).toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return undefined;
  const start = sep + 3;
  let end = start;
  while (end < url.length && url[end] !== '/' && url[end] !== '?' && url[end] !== '#') end++;
  const authority = url.slice(start, end);
  if (authority.includes('@')) return undefined;
  const parsed = parseAuthority(authority, scheme === 'https' ? 443 : 80);
  if (parsed === undefined) return undefined;
  let path = url.slice(end);
  const hash = path.indexOf('#');
  if (hash >= 0) path = path.slice(0, hash);
  if (path === '') path = '/';
  else if (path.startsWith('?')) path = `/${path}`;
  return { target: { scheme, host: parsed.host, port: parsed.port }, path };
}

/** A Host header names the target's host, whatever port it carries. */
export function hostAgrees(target: Target, hostHeader: string | undefined): boolean {
  if (hostHeader === undefined) return false;
  const parsed = parseAuthority(hostHeader.trim(), target.port);
  return parsed !== undefined && parsed.host === target.host;
}

export function formatTarget(target: Target): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${target.scheme}://${host}:${target.port}`;
}
