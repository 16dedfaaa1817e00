// Placeholder signatures; the implementation lands with the vault issue (see docs/internals.md).
import type { SecretRecord } from './secret.js';

export interface VaultContents {
  secrets: SecretRecord[];
  auditKey: Buffer;
}

export interface UnlockOptions {
  home: string;
  /** from ONECLI_PASSPHRASE or a prompt; required for passphrase vaults */
  passphrase?: string;
}

export interface UnlockedVault {
  key: Buffer;
  contents: VaultContents;
}

export declare function unlockVault(options: UnlockOptions): Promise<UnlockedVault>;
