import { OnecliError } from '../errors.js';
import type { ResolveRule } from '../proxy/types.js';

const RESOLVE = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]\s]+):(\d{1,5}):(\[[0-9A-Fa-f:.]+\]|[^:[\]\s]+)(?::(\d{1,5}))?$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/;

function usage(spec: string, why: string): OnecliError {
  return new OnecliError('E_USAGE', `--resolve ${JSON.stringify(spec)}: ${why}`, [
    'the form is HOST:PORT:ADDR[:PORT2], e.g. --resolve api.example.com:443:127.0.0.1:8443 (IPv6 in brackets: [::1])',
  ]);
}

function port(spec: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw usage(spec, `${JSON.stringify(text)} is not a port (1-65535)`);
  return value;
}

function unbracket(text: string): string {
  return text.startsWith('[') ? text.slice(1, -1) : text;
}

/** `HOST:PORT:ADDR[:PORT2]`, as curl's --resolve / --connect-to: connections for HOST:PORT go to ADDR (port PORT2). */
export function parseResolveRule(spec: string): ResolveRule {
  const match = RESOLVE.exec(spec.trim());
  if (match === null) throw usage(spec, 'not of the form HOST:PORT:ADDR[:PORT2]');
  const host = unbracket(match[1]!).toLowerCase().replace(/\.$/, '');
  const address = unbracket(match[3]!).toLowerCase();
  if (!match[1]!.startsWith('[') && !HOSTNAME.test(host)) throw usage(spec, `${JSON.stringify(host)} is not a host name`);
  if (!match[3]!.startsWith('[') && !HOSTNAME.test(address)) throw usage(spec, `${JSON.stringify(address)} is not an address`);
  const hostPort = port(spec, match[2]!);
  return { host, port: hostPort, address, targetPort: match[4] === undefined ? hostPort : port(spec, match[4]) };
}
