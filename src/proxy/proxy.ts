/**
 * The proxy library's public face: what src/run/ needs to start a run's proxy. The proxy is handed already-decided
 * secrets (rules, placeholder, a way to read the current value) and never sees the vault.
 */
export { startProxy } from './server.js';
export { makePlaceholder, knownPrefix, PLACEHOLDER_MARKER } from './placeholder.js';
export type { AuditSink, Decision, ProxyOptions, ProxySecret, RequestRecord, ResolveRule, RunningProxy } from './types.js';
