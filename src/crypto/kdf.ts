/**
 * The one key-derivation function of the vault: Argon2id with bounded parameters.
 *
 * There is deliberately no switch for a cheaper KDF. Tests that need speed seal and open with a raw key
 * (src/vault/format.ts `sealWithKey` / `openWithKey`) instead of weakening this function.
 */
import { hashRaw, type Algorithm, type Version } from '@node-rs/argon2';
import { OnecliError } from '../errors.js';

export interface KdfParams {
  /** Argon2 memory cost in KiB (the `m` parameter). */
  memoryKiB: number;
  /** Argon2 passes over memory (the `t` parameter). */
  iterations: number;
  /** Argon2 lanes (the `p` parameter). */
  parallelism: number;
}

/** Output length of the derived key: an AES-256 key. */
export const KEY_LENGTH = 32;

/** Salts shorter than this are a programming error: every vault header carries 16 random bytes. */
export const MIN_SALT_LENGTH = 16;

/**
 * 64 MiB, t=3, p=1: RFC 9106's second recommended option, measured at about 0.15 s and 64 MiB of extra RSS on a
 * 2-core machine (docs/vault-format.md has the figures). It runs once per command, so the cost stays invisible to a
 * user and expensive for a guesser.
 */
export const DEFAULT_KDF_PARAMS: KdfParams = Object.freeze({ memoryKiB: 64 * 1024, iterations: 3, parallelism: 1 });

/**
 * Limits on parameters read from a vault header. The floor is the default: onecli never writes less, so a file asking
 * for less was not made by onecli and would be cheaper to brute-force. The cap keeps a hostile file from making us
 * allocate gigabytes or spin for minutes before the tag check can fail.
 */
export const KDF_BOUNDS = Object.freeze({
  floor: Object.freeze({ memoryKiB: 64 * 1024, iterations: 3, parallelism: 1 }),
  cap: Object.freeze({ memoryKiB: 1024 * 1024, iterations: 64, parallelism: 16 }),
} as const);

// The package declares these as ambient const enums, which verbatimModuleSyntax cannot inline, so their values are
// spelled here: Algorithm.Argon2id = 2 and Version.V0x13 = 1 (Argon2 version 19, the RFC 9106 one).
const ARGON2ID: Algorithm = 2;
const ARGON2_VERSION_13: Version = 1;

const BOUNDS_HINTS = [
  'onecli never writes these parameters: the vault file was damaged or was not written by onecli',
  'restore the vault file from a backup',
];

/** Throws E_VAULT_CORRUPT when a parameter is not an integer within KDF_BOUNDS. */
export function checkKdfParams(p: KdfParams): void {
  const { floor, cap } = KDF_BOUNDS;
  if (!isWithin(p.memoryKiB, floor.memoryKiB, cap.memoryKiB)) {
    throw new OnecliError('E_VAULT_CORRUPT', describeOutOfBounds(`${formatKiB(p.memoryKiB)} of KDF memory`, p.memoryKiB > cap.memoryKiB, formatKiB(floor.memoryKiB), formatKiB(cap.memoryKiB)), BOUNDS_HINTS);
  }
  if (!isWithin(p.iterations, floor.iterations, cap.iterations)) {
    throw new OnecliError('E_VAULT_CORRUPT', describeOutOfBounds(`${String(p.iterations)} KDF iterations`, p.iterations > cap.iterations, String(floor.iterations), String(cap.iterations)), BOUNDS_HINTS);
  }
  if (!isWithin(p.parallelism, floor.parallelism, cap.parallelism)) {
    throw new OnecliError('E_VAULT_CORRUPT', describeOutOfBounds(`a KDF parallelism of ${String(p.parallelism)}`, p.parallelism > cap.parallelism, String(floor.parallelism), String(cap.parallelism)), BOUNDS_HINTS);
  }
}

/** Argon2id(secret, salt, params) → a 32-byte key. Refuses out-of-bounds parameters before any work. */
export async function deriveKey(secret: Uint8Array, salt: Uint8Array, params: KdfParams): Promise<Buffer> {
  checkKdfParams(params);
  if (salt.length < MIN_SALT_LENGTH) {
    throw new OnecliError('E_INTERNAL', `a KDF salt of ${String(salt.length)} bytes is too short (at least ${String(MIN_SALT_LENGTH)})`, 'this is a bug in onecli; please report it');
  }
  if (secret.length === 0) {
    throw new OnecliError('E_BAD_PASSPHRASE', 'the master secret is empty', 'set a non-empty passphrase in ONECLI_PASSPHRASE or type one at the prompt');
  }
  let key: Buffer;
  try {
    key = await hashRaw(Buffer.from(secret), {
      algorithm: ARGON2ID,
      version: ARGON2_VERSION_13,
      memoryCost: params.memoryKiB,
      timeCost: params.iterations,
      parallelism: params.parallelism,
      outputLen: KEY_LENGTH,
      salt: Buffer.from(salt),
    });
  } catch (err) {
    // The native error text is about parameters or memory, never about the secret.
    throw new OnecliError('E_INTERNAL', `Argon2id key derivation failed: ${err instanceof Error ? err.message : String(err)}`, `the KDF needs ${formatKiB(params.memoryKiB)} of free memory; close other programs and try again`, { cause: err });
  }
  if (key.length !== KEY_LENGTH) {
    throw new OnecliError('E_INTERNAL', `Argon2id returned ${String(key.length)} bytes instead of ${String(KEY_LENGTH)}`, 'this is a bug in onecli; please report it');
  }
  return key;
}

/** 65536 → "64 MiB", 4194304 → "4 GiB", 1000 → "1000 KiB". */
export function formatKiB(kib: number): string {
  if (!Number.isSafeInteger(kib)) return `${String(kib)} KiB`;
  if (kib >= 1024 * 1024 && kib % (1024 * 1024) === 0) return `${String(kib / (1024 * 1024))} GiB`;
  if (kib >= 1024 && kib % 1024 === 0) return `${String(kib / 1024)} MiB`;
  return `${String(kib)} KiB`;
}

function isWithin(value: number, min: number, max: number): boolean {
  return Number.isSafeInteger(value) && value >= min && value <= max;
}

function describeOutOfBounds(what: string, tooHigh: boolean, floor: string, cap: string): string {
  return tooHigh ? `the vault asks for ${what}; the limit is ${cap}` : `the vault asks for ${what}; onecli requires at least ${floor}`;
}
