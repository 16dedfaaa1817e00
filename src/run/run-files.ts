/**
 * The files a run writes: a private temp folder (0700) holding the CA bundle, the Node CA file and the Node preload.
 * None of them holds a secret: certificates are public, the CA key never leaves memory, and the preload reads the
 * proxy token from the child's environment. The folder is removed when the run ends — on a normal end, and from an
 * `exit` hook as a last resort (signals are handled by spawn-child, which lets the run end normally).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { OnecliError } from '../errors.js';
import { preloadSource } from './preload.js';

export const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

export interface RunFiles {
  dir: string;
  /** system roots + extra CAs + the run's CA */
  bundlePath: string;
  /** the run's CA + extra CAs */
  nodeCaPath: string;
  preloadPath: string;
  /** idempotent, synchronous (so it can run from an exit hook) */
  remove(): void;
}

export interface RunFilesOptions {
  /** the run's CA certificate */
  caCertPem: string;
  /** PEM certificates from onecli's own NODE_EXTRA_CA_CERTS (the child should trust what onecli trusts) */
  extraCaPems: readonly string[];
  /** where to read the system roots; defaults to Debian's bundle, else Node's built-in roots */
  systemBundlePath?: string;
  tmpDir?: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every PEM certificate in a text (other blocks, such as keys, are ignored). */
export function pemCertificates(text: string): string[] {
  return (text.match(PEM_CERT) ?? []).map((pem) => `${pem}\n`);
}

/** The PEM certificates of the file NODE_EXTRA_CA_CERTS names, or none when it is unset or unreadable (as Node does). */
export function extraCaFromEnv(env: NodeJS.ProcessEnv): string[] {
  const file = env['NODE_EXTRA_CA_CERTS'];
  if (!file) return [];
  try {
    return pemCertificates(fs.readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}

function normalizePem(pem: string): string {
  return pem.replace(/\s+/g, '');
}

export function systemRoots(bundlePath: string = SYSTEM_BUNDLE): string {
  try {
    const text = fs.readFileSync(bundlePath, 'utf8');
    if (pemCertificates(text).length > 0) return text.endsWith('\n') ? text : `${text}\n`;
  } catch {
    // not Debian-like: fall back to the roots compiled into Node
  }
  return tls.rootCertificates.map((pem) => `${pem}\n`).join('');
}

export function undiciPath(): string {
  return createRequire(import.meta.url).resolve('undici');
}

const liveDirs = new Set<string>();
let exitHookInstalled = false;

function removeLiveDirs(): void {
  for (const dir of liveDirs) fs.rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

export function writeRunFiles(options: RunFilesOptions): RunFiles {
  let dir: string;
  try {
    dir = fs.mkdtempSync(path.join(options.tmpDir ?? os.tmpdir(), 'onecli-run-'));
    fs.chmodSync(dir, 0o700);
  } catch (err) {
    throw new OnecliError('E_RUN_FAILED', 'cannot create the run\'s temp folder', ['check that TMPDIR names a writable folder'], { cause: err });
  }
  liveDirs.add(dir);
  if (!exitHookInstalled) {
    process.on('exit', removeLiveDirs);
    exitHookInstalled = true;
  }
  const remove = (): void => {
    fs.rmSync(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
  };

  const ca = options.caCertPem.endsWith('\n') ? options.caCertPem : `${options.caCertPem}\n`;
  const roots = systemRoots(options.systemBundlePath);
  // onecli's NODE_EXTRA_CA_CERTS is often the system bundle itself: add only what the roots lack.
  const known = new Set(pemCertificates(roots).map(normalizePem));
  const extraForBundle = options.extraCaPems.filter((pem) => !known.has(normalizePem(pem))).join('');
  // Node's file keeps every extra CA: Node's built-in roots are not the system's, so none of them is redundant there.
  const extraForNode = options.extraCaPems.join('');
  const files = {
    bundlePath: path.join(dir, 'ca-bundle.pem'),
    nodeCaPath: path.join(dir, 'node-extra-ca.pem'),
    preloadPath: path.join(dir, 'node-preload.cjs'),
  };
  try {
    fs.writeFileSync(files.bundlePath, roots + extraForBundle + ca, { mode: 0o600 });
    fs.writeFileSync(files.nodeCaPath, extraForNode + ca, { mode: 0o600 });
    fs.writeFileSync(files.preloadPath, preloadSource(undiciPath()), { mode: 0o600 });
  } catch (err) {
    remove();
    throw new OnecliError('E_RUN_FAILED', 'cannot write the run\'s CA bundle and Node preload', ['check free space in the temp folder'], { cause: err });
  }
  return { dir, ...files, remove };
}
