import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isOnecliError } from './errors.js';
import { vaultPath } from './home.js';
import { loadMasterKey, probeKeychain } from './keychain/keychain.js';
import { parseVault } from './vault/format.js';
import { inspectPermissions } from './vault/vault-file.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
}

function which(command: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env['PATH'] ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function pythonModules(python: string): string[] {
  const probe = spawnSync(python, ['-c', 'import importlib.util as u; print(",".join(m for m in ("requests","httpx","aiohttp") if u.find_spec(m)))'], {
    encoding: 'utf8',
    timeout: 5_000,
  });
  return probe.status === 0 ? probe.stdout.trim().split(',').filter(Boolean) : [];
}

/** Which agent runtimes found on PATH will go through `onecli run`'s proxy, and how. */
export function runtimeChecks(env: NodeJS.ProcessEnv = process.env): Check[] {
  const runtimes: Array<[string, string]> = [
    ['curl', 'HTTPS_PROXY + CURL_CA_BUNDLE'],
    ['node', 'fetch and http/https through the NODE_OPTIONS preload; trusts NODE_EXTRA_CA_CERTS'],
    ['python3', 'requests (REQUESTS_CA_BUNDLE) and httpx (SSL_CERT_FILE) honour HTTPS_PROXY'],
    ['go', 'net/http honours HTTPS_PROXY + SSL_CERT_FILE, but never proxies localhost/loopback'],
    ['deno', 'HTTPS_PROXY + DENO_CERT'],
    ['git', 'HTTPS_PROXY + GIT_SSL_CAINFO'],
  ];
  return runtimes.map(([command, how]) => {
    const found = which(command, env);
    if (found === null) return { name: `runtime ${command}`, status: 'warn', detail: 'not found on PATH' };
    const extra = command === 'python3' ? ` (modules: ${pythonModules(found).join(', ') || 'none of requests/httpx'})` : '';
    return { name: `runtime ${command}`, status: 'ok', detail: `${found}${extra}: ${how}` };
  });
}

export async function runDoctor(home: string, env: NodeJS.ProcessEnv = process.env): Promise<Check[]> {
  const checks: Check[] = [];
  const file = vaultPath(home);
  let keychainVault: string | null = null;
  if (!fs.existsSync(file)) {
    checks.push({ name: 'vault', status: 'warn', detail: `no vault at ${file} yet: run \`onecli init\`` });
  } else {
    try {
      const { header } = parseVault(fs.readFileSync(file));
      if (header.master === 'keychain') keychainVault = header.vaultId;
      checks.push({ name: 'vault', status: 'ok', detail: `${file}: format v${header.version}, master key in the ${header.master === 'keychain' ? 'OS keychain' : 'passphrase'}` });
    } catch (err) {
      checks.push({ name: 'vault', status: 'fail', detail: isOnecliError(err) ? err.message : String(err) });
    }
  }
  for (const finding of inspectPermissions(home)) {
    if (finding.mode === '' && !finding.ok) continue;
    checks.push({ name: `permissions ${finding.path}`, status: finding.ok ? 'ok' : 'fail', detail: finding.ok ? finding.mode : `${finding.mode}: ${finding.problem ?? ''}` });
  }
  const probe = await probeKeychain();
  if (probe.ok) {
    checks.push({ name: 'keychain', status: 'ok', detail: 'the OS keychain (Secret Service) stores and returns keys' });
  } else {
    const needed = keychainVault !== null;
    checks.push({ name: 'keychain', status: needed ? 'fail' : 'warn', detail: `${probe.problem}${needed ? '' : ' (not needed: passphrase vault or no vault)'}` });
  }
  if (keychainVault !== null && probe.ok) {
    const key = await loadMasterKey(keychainVault).catch(() => null);
    checks.push({ name: 'keychain entry', status: key ? 'ok' : 'fail', detail: key ? `a key for vault ${keychainVault}` : `no key for vault ${keychainVault} in this keychain` });
  }
  if (env['ONECLI_PASSPHRASE'] !== undefined) checks.push({ name: 'passphrase', status: 'ok', detail: 'ONECLI_PASSPHRASE is set' });
  return [...checks, ...runtimeChecks(env)];
}
