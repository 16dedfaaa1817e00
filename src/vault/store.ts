import crypto from 'node:crypto';
import fs from 'node:fs';
import { deriveKey } from '../crypto/kdf.js';
import { OnecliError } from '../errors.js';
import { vaultPath } from '../home.js';
import { emptyContents, encodeContents, parseContents, type VaultContents } from './contents.js';
import { newHeader, openWithKey, parseVault, sealWithKey, type MasterKind, type VaultHeader } from './format.js';
import type * as KeychainModuleNs from '../keychain/keychain.js';
import { ensurePrivateDir, readVaultFile, withVaultLock, writeFileAtomic } from './vault-file.js';

export type { VaultContents } from './contents.js';

type KeychainModule = typeof KeychainModuleNs;

/** The keychain's native module loads only for keychain vaults: passphrase vaults never pay for it. */
const keychain = (): Promise<KeychainModule> => import('../keychain/keychain.js');
const storeMasterKey = async (account: string, key: Buffer): Promise<void> => (await keychain()).storeMasterKey(account, key);
const loadMasterKey = async (account: string): Promise<Buffer | null> => (await keychain()).loadMasterKey(account);
const deleteMasterKey = async (account: string): Promise<void> => (await keychain()).deleteMasterKey(account);

/** A passphrase, or a way to ask for one; the library never prompts by itself. */
export type PassphraseSource = string | ((purpose: 'unlock' | 'new') => Promise<string>);

export interface UnlockOptions {
  home: string;
  /** required for passphrase vaults (from ONECLI_PASSPHRASE or a prompt); ignored for keychain vaults */
  passphrase?: PassphraseSource | undefined;
}

export interface UnlockedVault {
  header: VaultHeader;
  /** the Argon2id output; lets a run re-open a rotated file without another KDF */
  key: Buffer;
  contents: VaultContents;
}

async function askPassphrase(source: PassphraseSource | undefined, purpose: 'unlock' | 'new'): Promise<string> {
  const value = typeof source === 'function' ? await source(purpose) : source;
  if (value === undefined || value === '') {
    throw new OnecliError(
      'E_BAD_PASSPHRASE',
      purpose === 'unlock' ? 'this vault is protected by a passphrase and none was given' : 'the new passphrase is empty',
      ['set ONECLI_PASSPHRASE, or run the command in a terminal to be asked for it'],
    );
  }
  return value;
}

function passphraseSecret(passphrase: string): Buffer {
  return Buffer.from(passphrase.normalize('NFC'), 'utf8');
}

async function masterSecretFor(header: VaultHeader, options: UnlockOptions): Promise<Buffer> {
  if (header.master === 'passphrase') return passphraseSecret(await askPassphrase(options.passphrase, 'unlock'));
  const key = await loadMasterKey(header.vaultId);
  if (key === null) {
    throw new OnecliError('E_KEYCHAIN_ENTRY_MISSING', `the OS keychain holds no key for this vault (id ${header.vaultId})`, [
      'the vault was made by another user or on another machine; run onecli as that user, or restore the keychain',
    ]);
  }
  return key;
}

function sameKeyMaterial(a: VaultHeader, b: VaultHeader): boolean {
  return (
    a.vaultId === b.vaultId &&
    a.master === b.master &&
    a.salt.equals(b.salt) &&
    a.kdf.memoryKiB === b.kdf.memoryKiB &&
    a.kdf.iterations === b.kdf.iterations &&
    a.kdf.parallelism === b.kdf.parallelism
  );
}

/** Reads and decrypts the vault. Never writes. */
export async function unlockVault(options: UnlockOptions): Promise<UnlockedVault> {
  const bytes = readVaultFile(vaultPath(options.home));
  const { header } = parseVault(bytes);
  const key = await deriveKey(await masterSecretFor(header, options), header.salt, header.kdf);
  return { header, key, contents: parseContents(openWithKey(bytes, key).plaintext) };
}

/**
 * Read-modify-write under the lock. The KDF runs before the lock is taken (so twenty racing commands do not queue
 * behind each other's Argon2id); inside the lock the file is read again, so no concurrent update is lost.
 */
export async function updateVault<T>(options: UnlockOptions, mutate: (contents: VaultContents) => T | Promise<T>): Promise<T> {
  const file = vaultPath(options.home);
  const unlocked = await unlockVault(options);
  return withVaultLock(file, async (lock) => {
    const bytes = readVaultFile(file);
    const { header } = parseVault(bytes);
    const key = sameKeyMaterial(header, unlocked.header)
      ? unlocked.key
      : await deriveKey(await masterSecretFor(header, options), header.salt, header.kdf);
    const contents = parseContents(openWithKey(bytes, key).plaintext);
    const result = await mutate(contents);
    // A holder that stalled past the stale time may have been overtaken: never rename over another writer's update.
    if (lock.lost) throw new OnecliError('E_VAULT_LOCKED', 'lost the vault lock while working; nothing was written', 'run the command again');
    writeFileAtomic(file, sealWithKey(header, key, encodeContents(contents)));
    return result;
  });
}

export interface InitOptions {
  home: string;
  master: MasterKind;
  passphrase?: PassphraseSource | undefined;
}

export async function initVault(options: InitOptions): Promise<{ header: VaultHeader; auditKey: Buffer }> {
  const file = vaultPath(options.home);
  const exists = (): OnecliError =>
    new OnecliError('E_VAULT_EXISTS', `a vault already exists at ${JSON.stringify(file)}`, [
      'use it as it is, or pick another folder with ONECLI_HOME; onecli never overwrites a vault',
    ]);
  if (fs.existsSync(file)) throw exists();
  ensurePrivateDir(options.home);
  const header = newHeader(options.master);
  const keychain = options.master === 'keychain';
  const masterSecret = keychain ? crypto.randomBytes(32) : passphraseSecret(await askPassphrase(options.passphrase, 'new'));
  // The keychain first: without one the command fails at once, before any Argon2id work.
  if (keychain) await storeMasterKey(header.vaultId, masterSecret);
  const contents = emptyContents();
  try {
    const key = await deriveKey(masterSecret, header.salt, header.kdf);
    await withVaultLock(file, () => {
      if (fs.existsSync(file)) throw exists();
      writeFileAtomic(file, sealWithKey(header, key, encodeContents(contents)));
      return Promise.resolve();
    });
  } catch (err) {
    if (keychain) await deleteMasterKey(header.vaultId).catch(() => undefined);
    throw err;
  }
  return { header, auditKey: contents.auditKey };
}

/**
 * New master secret, re-encrypted atomically. A keychain vault gets a new vault id, so the new key is stored under a
 * new keychain item before the file is renamed into place and the old item is deleted only after: a crash at any
 * point leaves a file whose id names an item holding its key.
 */
export async function rotateMaster(options: UnlockOptions): Promise<{ before: VaultHeader; after: VaultHeader; auditKey: Buffer }> {
  const file = vaultPath(options.home);
  const unlocked = await unlockVault(options);
  const master = unlocked.header.master;
  const next = newHeader(master, master === 'keychain' ? undefined : unlocked.header.vaultId);
  const nextSecret = master === 'keychain' ? crypto.randomBytes(32) : passphraseSecret(await askPassphrase(options.passphrase, 'new'));
  const nextKey = await deriveKey(nextSecret, next.salt, next.kdf);
  if (master === 'keychain') await storeMasterKey(next.vaultId, nextSecret);
  let auditKey = unlocked.contents.auditKey;
  try {
    await withVaultLock(file, () => {
      const bytes = readVaultFile(file);
      const { header } = parseVault(bytes);
      if (!sameKeyMaterial(header, unlocked.header)) {
        throw new OnecliError('E_VAULT_LOCKED', 'the master key was rotated by another onecli at the same time', 'run the command again');
      }
      const contents = parseContents(openWithKey(bytes, unlocked.key).plaintext);
      auditKey = contents.auditKey;
      writeFileAtomic(file, sealWithKey(next, nextKey, encodeContents(contents)));
      return Promise.resolve();
    });
  } catch (err) {
    if (master === 'keychain') await deleteMasterKey(next.vaultId).catch(() => undefined);
    throw err;
  }
  if (master === 'keychain') await deleteMasterKey(unlocked.header.vaultId).catch(() => undefined);
  return { before: unlocked.header, after: next, auditKey };
}
