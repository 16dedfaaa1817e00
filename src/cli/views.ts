import type { VaultHeader } from '../vault/format.js';
import type { SecretMetadata } from '../vault/secret.js';

/** The JSON shape of a secret in `--json` output: metadata only, snake_case, stable. */
export interface SecretView {
  name: string;
  hosts: string[];
  paths: string[];
  injection: SecretMetadata['injection'];
  env: string | null;
  allow_http: boolean;
  preset: string | null;
  version: number;
  created: string;
  rotated: string | null;
}

export function secretView(s: SecretMetadata): SecretView {
  return {
    name: s.name,
    hosts: s.hosts,
    paths: s.paths,
    injection: s.injection,
    env: s.env,
    allow_http: s.allowHttp,
    preset: s.preset,
    version: s.version,
    created: s.created,
    rotated: s.rotated,
  };
}

export function describeInjection(s: Pick<SecretMetadata, 'injection'>): string {
  return s.injection.type === 'header' ? `${s.injection.header}: ${s.injection.template}` : `?${s.injection.param}={value}`;
}

export interface VaultView {
  path: string;
  id: string;
  master: VaultHeader['master'];
  kdf: { algorithm: 'argon2id'; memory_kib: number; iterations: number; parallelism: number };
}

export function vaultView(path: string, header: VaultHeader): VaultView {
  return {
    path,
    id: header.vaultId,
    master: header.master,
    kdf: { algorithm: 'argon2id', memory_kib: header.kdf.memoryKiB, iterations: header.kdf.iterations, parallelism: header.kdf.parallelism },
  };
}
