import type { HostPattern } from '../policy/host-pattern.js';
import type { PathPattern } from '../policy/path-pattern.js';
import type { Injection } from '../vault/secret.js';

/** What the proxy knows of a secret: its rules and placeholder. The value is fetched per request (rotation). */
export interface ProxySecret {
  name: string;
  hosts: HostPattern[];
  paths: PathPattern[];
  injection: Injection;
  allowHttp: boolean;
  /** random per run; the child holds this instead of the value */
  placeholder: string;
}

/** `--resolve HOST:PORT:ADDR[:PORT2]`: connections for host:port go to address:targetPort. */
export interface ResolveRule {
  host: string;
  port: number;
  address: string;
  targetPort: number;
}

export type Decision = 'injected' | 'passthrough' | 'blocked' | 'denied' | 'error';

/** One proxy decision, as the audit log records it. No value, placeholder, query string or body can be carried. */
export interface RequestRecord {
  method: string;
  host: string;
  port: number;
  /** without the query string */
  path: string;
  status: number;
  decision: Decision;
  secrets: string[];
  bytes_in: number;
  bytes_out: number;
  duration_ms: number;
  reason?: string;
}

export interface AuditSink {
  /** false when the log cannot be written: the proxy then refuses requests (fail closed), saying why */
  healthy(): boolean;
  /** why the sink is unhealthy, in plain words */
  problem(): string | undefined;
  record(event: RequestRecord): void;
}

export interface ProxyOptions {
  secrets: ProxySecret[];
  /** the secret's current value; called for each request that gets it injected, so a rotation applies next request */
  valueOf(name: string): string;
  /** 64 hex chars; clients send Proxy-Authorization: Basic base64("onecli:" + token) */
  token: string;
  resolve: ResolveRule[];
  denyUnmatched: boolean;
  inspectAll: boolean;
  /** PEM certificates trusted for upstream TLS in addition to the system roots (onecli's own NODE_EXTRA_CA_CERTS) */
  extraUpstreamCa: string[];
  audit: AuditSink;
}

export interface RunningProxy {
  port: number;
  /** the run's CA certificate (PEM); its key never leaves memory */
  caCertPem: string;
  /** stops accepting, ends every connection, and makes the token useless */
  close(): Promise<void>;
}
