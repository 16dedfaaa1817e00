import type { VaultHeader } from '../vault/format.js';
import type { SecretMetadata } from '../vault/secret.js';

export { secretView, type SecretView } from '../vault/secret.js';

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
