/**
 * The vault file format, version 1 (docs/vault-format.md is the spec; test/vectors/ holds generated examples).
 *
 *   offset  size  field
 *        0     7  magic "ONECLI\0"
 *        7     1  format version (1)
 *        8     1  master kind (1 keychain, 2 passphrase)
 *        9     1  KDF id (1 Argon2id)
 *       10     4  KDF memory in KiB, u32 big-endian
 *       14     4  KDF iterations, u32 big-endian
 *       18     1  KDF parallelism
 *       19    16  vault id
 *       35    16  KDF salt
 *       51    12  AES-GCM nonce
 *       63     …  ciphertext || 16-byte tag; the 63 header bytes are the additional data
 *
 * The parser refuses anything it does not fully understand before any key derivation runs, and throws nothing but
 * E_VAULT_CORRUPT for any input.
 */
import { randomBytes } from 'node:crypto';
import { AEAD_NONCE_LENGTH, AEAD_TAG_LENGTH, openAead, sealAead } from '../crypto/aead.js';
import { checkKdfParams, DEFAULT_KDF_PARAMS, deriveKey, type KdfParams } from '../crypto/kdf.js';
import { OnecliError } from '../errors.js';

export type MasterKind = 'keychain' | 'passphrase';

export interface VaultHeader {
  version: 1;
  master: MasterKind;
  kdf: KdfParams;
  /** 32 lowercase hex digits; names the vault's keychain entry. */
  vaultId: string;
  salt: Buffer;
  nonce: Buffer;
}

export const VAULT_FORMAT_VERSION = 1;
export const MAGIC: Buffer = Buffer.from('ONECLI\0', 'latin1');
export const VAULT_ID_LENGTH = 16;
export const SALT_LENGTH = 16;
export const NONCE_LENGTH = AEAD_NONCE_LENGTH;

const OFFSET = {
  version: 7,
  master: 8,
  kdfId: 9,
  memoryKiB: 10,
  iterations: 14,
  parallelism: 18,
  vaultId: 19,
  salt: 19 + VAULT_ID_LENGTH,
  nonce: 19 + VAULT_ID_LENGTH + SALT_LENGTH,
} as const;

export const HEADER_LENGTH: number = OFFSET.nonce + NONCE_LENGTH;

const MASTER_CODES: Record<MasterKind, number> = { keychain: 1, passphrase: 2 };
const KDF_ARGON2ID = 1;
const VAULT_ID_PATTERN = /^[0-9a-f]{32}$/;

const DAMAGED_HINT = 'the vault file was damaged or was not written by onecli; restore it from a backup';

export function encodeHeader(h: VaultHeader): Buffer {
  checkHeaderShape(h);
  const out = Buffer.alloc(HEADER_LENGTH);
  MAGIC.copy(out, 0);
  out.writeUInt8(h.version, OFFSET.version);
  out.writeUInt8(MASTER_CODES[h.master], OFFSET.master);
  out.writeUInt8(KDF_ARGON2ID, OFFSET.kdfId);
  out.writeUInt32BE(h.kdf.memoryKiB, OFFSET.memoryKiB);
  out.writeUInt32BE(h.kdf.iterations, OFFSET.iterations);
  out.writeUInt8(h.kdf.parallelism, OFFSET.parallelism);
  Buffer.from(h.vaultId, 'hex').copy(out, OFFSET.vaultId);
  h.salt.copy(out, OFFSET.salt);
  h.nonce.copy(out, OFFSET.nonce);
  return out;
}

/** Splits a vault file into its checked header, the header bytes (the AAD) and ciphertext || tag. */
export function parseVault(bytes: Uint8Array): { header: VaultHeader; headerBytes: Buffer; sealed: Buffer } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicSeen = buf.subarray(0, Math.min(buf.length, MAGIC.length));
  if (!magicSeen.equals(MAGIC.subarray(0, magicSeen.length))) {
    throw corrupt('not an onecli vault (the file does not start with "ONECLI")', 'check that ONECLI_HOME points at an onecli state folder');
  }
  if (buf.length <= OFFSET.version) throw truncated(buf.length);

  // The version is read before the length check: a newer format may have a header of another size.
  const version = buf.readUInt8(OFFSET.version);
  if (version > VAULT_FORMAT_VERSION) {
    throw corrupt(`vault format version ${String(version)} is newer than this onecli understands (${String(VAULT_FORMAT_VERSION)})`, 'upgrade onecli to open this vault');
  }
  if (version !== VAULT_FORMAT_VERSION) {
    throw corrupt(`vault format version ${String(version)} does not exist (this onecli reads version ${String(VAULT_FORMAT_VERSION)})`, DAMAGED_HINT);
  }
  if (buf.length < HEADER_LENGTH) throw truncated(buf.length);

  const masterCode = buf.readUInt8(OFFSET.master);
  const master = (Object.keys(MASTER_CODES) as MasterKind[]).find((kind) => MASTER_CODES[kind] === masterCode);
  if (master === undefined) throw corrupt(`the vault names an unknown master key kind (${String(masterCode)})`, DAMAGED_HINT);

  const kdfId = buf.readUInt8(OFFSET.kdfId);
  if (kdfId !== KDF_ARGON2ID) throw corrupt(`the vault names an unknown KDF (${String(kdfId)})`, DAMAGED_HINT);

  const kdf: KdfParams = {
    memoryKiB: buf.readUInt32BE(OFFSET.memoryKiB),
    iterations: buf.readUInt32BE(OFFSET.iterations),
    parallelism: buf.readUInt8(OFFSET.parallelism),
  };
  checkKdfParams(kdf);

  const sealed = Buffer.from(buf.subarray(HEADER_LENGTH));
  if (sealed.length < AEAD_TAG_LENGTH) throw truncated(buf.length);

  const header: VaultHeader = {
    version: VAULT_FORMAT_VERSION,
    master,
    kdf,
    vaultId: buf.toString('hex', OFFSET.vaultId, OFFSET.vaultId + VAULT_ID_LENGTH),
    salt: Buffer.from(buf.subarray(OFFSET.salt, OFFSET.salt + SALT_LENGTH)),
    nonce: Buffer.from(buf.subarray(OFFSET.nonce, OFFSET.nonce + NONCE_LENGTH)),
  };
  return { header, headerBytes: Buffer.from(buf.subarray(0, HEADER_LENGTH)), sealed };
}

/** A header for a new vault: random id, salt and nonce, the default KDF parameters. */
export function newHeader(master: MasterKind, vaultId: string = randomBytes(VAULT_ID_LENGTH).toString('hex')): VaultHeader {
  return {
    version: VAULT_FORMAT_VERSION,
    master,
    kdf: { ...DEFAULT_KDF_PARAMS },
    vaultId,
    salt: randomBytes(SALT_LENGTH),
    nonce: randomBytes(NONCE_LENGTH),
  };
}

/**
 * The whole file for plaintext under key. A fresh random nonce is drawn on every call, whatever header.nonce holds:
 * the key stays the same across re-seals (same salt), so a repeated nonce would break AES-GCM.
 * 96-bit random nonces stay safe far beyond the number of writes a vault will see (NIST SP 800-38D: 2^32 messages).
 */
export function sealWithKey(header: VaultHeader, key: Uint8Array, plaintext: Uint8Array): Buffer {
  const fresh: VaultHeader = { ...header, kdf: { ...header.kdf }, nonce: randomBytes(NONCE_LENGTH) };
  const headerBytes = encodeHeader(fresh);
  return Buffer.concat([headerBytes, sealAead(key, fresh.nonce, plaintext, headerBytes)]);
}

export function openWithKey(bytes: Uint8Array, key: Uint8Array): { header: VaultHeader; plaintext: Buffer } {
  const { header, headerBytes, sealed } = parseVault(bytes);
  return { header, plaintext: openAead(key, header.nonce, sealed, headerBytes) };
}

/** Derives the key from the master secret with the header's salt and KDF parameters, then seals. */
export async function sealVault(header: VaultHeader, masterSecret: Uint8Array, plaintext: Uint8Array): Promise<{ bytes: Buffer; key: Buffer }> {
  checkHeaderShape(header);
  const key = await deriveKey(masterSecret, header.salt, header.kdf);
  return { bytes: sealWithKey(header, key, plaintext), key };
}

/** Parses first, so a hostile header is refused before any key derivation. */
export async function openVault(bytes: Uint8Array, masterSecret: Uint8Array): Promise<{ header: VaultHeader; plaintext: Buffer; key: Buffer }> {
  const { header, headerBytes, sealed } = parseVault(bytes);
  const key = await deriveKey(masterSecret, header.salt, header.kdf);
  return { header, plaintext: openAead(key, header.nonce, sealed, headerBytes), key };
}

/** Headers handed in by code must already be well-formed; a malformed one is a bug, not a damaged file. */
function checkHeaderShape(h: VaultHeader): void {
  const problems: string[] = [];
  if (h.version !== VAULT_FORMAT_VERSION) problems.push(`version ${JSON.stringify(h.version)}`);
  if (!Object.hasOwn(MASTER_CODES, h.master)) problems.push(`master kind ${JSON.stringify(h.master)}`);
  if (!VAULT_ID_PATTERN.test(h.vaultId)) problems.push(`vault id ${JSON.stringify(h.vaultId)}`);
  if (h.salt.length !== SALT_LENGTH) problems.push(`a ${String(h.salt.length)}-byte salt`);
  if (h.nonce.length !== NONCE_LENGTH) problems.push(`a ${String(h.nonce.length)}-byte nonce`);
  if (problems.length > 0) {
    throw new OnecliError('E_INTERNAL', `cannot write a vault header with ${problems.join(', ')}`, 'this is a bug in onecli; please report it');
  }
  // Writing parameters that no reader would accept would lock the user out of their own vault.
  checkKdfParams(h.kdf);
}

function truncated(length: number): OnecliError {
  return corrupt(`the vault file is truncated (${String(length)} bytes; a vault has at least ${String(HEADER_LENGTH + AEAD_TAG_LENGTH)})`, DAMAGED_HINT);
}

function corrupt(message: string, hint: string): OnecliError {
  return new OnecliError('E_VAULT_CORRUPT', message, hint);
}
