/**
 * `onecli run`, start to end: unlock the vault, pick the secrets, make placeholders, open the audit session, start
 * the proxy, write the run's files, spawn the agent, and on its exit close everything in reverse order.
 * Anything that fails before the agent starts is thrown (the command exits 125); after that, the agent's exit code
 * is the run's.
 */
import { randomBytes } from 'node:crypto';
import { createAuditSink } from '../audit/sink.js';
import { AuditWriter, newSessionId } from '../audit/writer.js';
import { OnecliError } from '../errors.js';
import { vaultPath } from '../home.js';
import { readStoredHostPattern } from '../policy/host-pattern.js';
import { parsePathPattern } from '../policy/path-pattern.js';
import { makePlaceholder } from '../proxy/placeholder.js';
import type { ProxySecret, ResolveRule, RunningProxy } from '../proxy/types.js';
import { findSecret, type SecretRecord } from '../vault/secret.js';
import { unlockVault, type PassphraseSource } from '../vault/store.js';
import { buildChildEnv } from './child-env.js';
import { extraCaFromEnv, writeRunFiles, type RunFiles } from './run-files.js';
import { createSecretSource } from './secret-source.js';
import { spawnChild, type ChildExit } from './spawn-child.js';

export interface RunOptions {
  home: string;
  /** onecli's own environment: the child's is built from it */
  env: NodeJS.ProcessEnv;
  passphrase?: PassphraseSource | undefined;
  command: string;
  args: readonly string[];
  /** limits the run to these secrets; empty = every secret in the vault */
  secrets: readonly string[];
  resolve: readonly ResolveRule[];
  denyUnmatched: boolean;
  inspectAll: boolean;
  cwd?: string;
}

export interface RunResult {
  exitCode: number;
  child: ChildExit;
  session: string;
  /** set when the audit log could not be written: the proxy refused requests */
  auditProblem: string | undefined;
}

function pickSecrets(all: readonly SecretRecord[], names: readonly string[]): SecretRecord[] {
  if (names.length === 0) return [...all];
  return [...new Set(names)].map((name) => findSecret(all, name));
}

function toProxySecret(secret: SecretRecord): ProxySecret {
  return {
    name: secret.name,
    hosts: secret.hosts.map(readStoredHostPattern),
    paths: secret.paths.map(parsePathPattern),
    injection: secret.injection,
    allowHttp: secret.allowHttp,
    placeholder: makePlaceholder(secret.value),
  };
}

function beforeStart(err: unknown, what: string): OnecliError {
  if (err instanceof OnecliError) return err;
  return new OnecliError('E_RUN_FAILED', `${what}: ${err instanceof Error ? err.message : String(err)}`, [
    'nothing was started; run again, and report it if it keeps happening',
  ]);
}

export async function runAgent(options: RunOptions): Promise<RunResult> {
  // The proxy's modules (X.509, TLS) load while Argon2id runs on the thread pool: start-up is the sum of neither.
  const proxyModule = import('../proxy/server.js');
  proxyModule.catch(() => undefined);
  const vault = await unlockVault({ home: options.home, passphrase: options.passphrase });
  const { startProxy } = await proxyModule;
  const chosen = pickSecrets(vault.contents.secrets, options.secrets);
  const proxySecrets = chosen.map(toProxySecret);
  const source = createSecretSource(vaultPath(options.home), vault.key, chosen);
  const extraCa = extraCaFromEnv(options.env);
  const agent = [options.command, ...options.args];

  const session = newSessionId();
  const writer = AuditWriter.tryOpen({ home: options.home, key: vault.contents.auditKey, session, agent, pid: process.pid });
  let proxy: RunningProxy | undefined;
  let files: RunFiles | undefined;
  const teardown = async (): Promise<void> => {
    files?.remove();
    await proxy?.close();
    writer.close();
  };

  // 256 random bits; lives in this process and the child's environment only, and dies with the proxy.
  const token = randomBytes(32).toString('hex');
  let child: ReturnType<typeof spawnChild>;
  try {
    proxy = await startProxy({
      secrets: proxySecrets,
      valueOf: (name) => source.valueOf(name),
      token,
      resolve: [...options.resolve],
      denyUnmatched: options.denyUnmatched,
      inspectAll: options.inspectAll,
      extraUpstreamCa: extraCa,
      audit: createAuditSink(writer),
    }).catch((err: unknown) => {
      throw beforeStart(err, 'the proxy could not start');
    });
    files = writeRunFiles({ caCertPem: proxy.caCertPem, extraCaPems: extraCa });
    if (writer.healthy) {
      try {
        writer.append({ event: 'session.start', secrets: chosen.map((s) => s.name), proxy_port: proxy.port });
      } catch {
        // the writer is unhealthy now: the proxy refuses requests and says why
      }
    }
    const placeholders = new Map<string, string>();
    chosen.forEach((secret, i) => {
      if (secret.env !== null) placeholders.set(secret.env, proxySecrets[i]!.placeholder);
    });
    const env = buildChildEnv(options.env, {
      proxyUrl: proxyUrlOf(proxy.port, token),
      bundlePath: files.bundlePath,
      nodeCaPath: files.nodeCaPath,
      preloadPath: files.preloadPath,
      placeholders,
      scrubValues: chosen.map((s) => s.value),
    });
    child = spawnChild(options.command, options.args, { env, ...(options.cwd === undefined ? {} : { cwd: options.cwd }) });
  } catch (err) {
    await teardown();
    throw beforeStart(err, 'the run could not start');
  }

  const exit = await child.exited;
  if (writer.healthy) {
    try {
      writer.append({ event: 'session.end', exit_code: exit.signal === null ? exit.exitCode : null, signal: exit.signal });
    } catch {
      // reported below through auditProblem
    }
  }
  await teardown();
  child.dispose();
  return { exitCode: exit.exitCode, child: exit, session, auditProblem: writer.problem };
}

export function proxyUrlOf(port: number, token: string): string {
  return `http://onecli:${token}@127.0.0.1:${port}`;
}
