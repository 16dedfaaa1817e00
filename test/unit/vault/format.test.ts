import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DECRYPT_FAILURE_MESSAGE } from '../../../src/crypto/aead.js';
import { DEFAULT_KDF_PARAMS, KDF_BOUNDS } from '../../../src/crypto/kdf.js';
import { isOnecliError, type OnecliError } from '../../../src/errors.js';
import { encodeHeader, HEADER_LENGTH, MAGIC, newHeader, openVault, openWithKey, parseVault, sealVault, sealWithKey, type VaultHeader } from '../../../src/vault/format.js';

const headerArb: fc.Arbitrary<VaultHeader> = fc.record({
  version: fc.constant(1 as const),
  master: fc.constantFrom('keychain' as const, 'passphrase' as const),
  kdf: fc.record({
    memoryKiB: fc.integer({ min: KDF_BOUNDS.floor.memoryKiB, max: KDF_BOUNDS.cap.memoryKiB }),
    iterations: fc.integer({ min: KDF_BOUNDS.floor.iterations, max: KDF_BOUNDS.cap.iterations }),
    parallelism: fc.integer({ min: KDF_BOUNDS.floor.parallelism, max: KDF_BOUNDS.cap.parallelism }),
  }),
  vaultId: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex')),
  salt: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b)),
  nonce: fc.uint8Array({ minLength: 12, maxLength: 12 }).map((b) => Buffer.from(b)),
});

function thrown(run: () => unknown): OnecliError {
  try {
    run();
  } catch (err) {
    if (isOnecliError(err)) return err;
    throw err;
  }
  throw new Error('expected a throw');
}

const key = randomBytes(32);
const sample = Buffer.from('{"version":1,"secrets":[],"audit_key":"AAAA"}');

describe('vault header encoding', () => {
  it('is 63 bytes starting with the magic and version 1', () => {
    const bytes = encodeHeader(newHeader('keychain'));
    expect(HEADER_LENGTH).toBe(63);
    expect(bytes).toHaveLength(63);
    expect(bytes.subarray(0, 7).toString('latin1')).toBe('ONECLI\0');
    expect(bytes[7]).toBe(1);
  });

  it('parses back to the header it encoded, for any valid header and ciphertext', () => {
    fc.assert(
      fc.property(headerArb, fc.uint8Array({ minLength: 16, maxLength: 200 }), (header, sealed) => {
        const bytes = Buffer.concat([encodeHeader(header), sealed]);
        const parsed = parseVault(bytes);
        expect(parsed.header).toEqual(header);
        expect(parsed.headerBytes.equals(bytes.subarray(0, HEADER_LENGTH))).toBe(true);
        expect(parsed.sealed.equals(Buffer.from(sealed))).toBe(true);
      }),
    );
  });

  it('makes new headers with a random id, salt and nonce and the default KDF', () => {
    const a = newHeader('passphrase');
    const b = newHeader('passphrase');
    expect(a.vaultId).toMatch(/^[0-9a-f]{32}$/);
    expect(a.vaultId).not.toBe(b.vaultId);
    expect(a.salt.equals(b.salt)).toBe(false);
    expect(a.kdf).toEqual(DEFAULT_KDF_PARAMS);
    expect(newHeader('keychain', 'ab'.repeat(16)).vaultId).toBe('ab'.repeat(16));
  });

  it('refuses to encode a malformed header', () => {
    const good = newHeader('keychain');
    expect(thrown(() => encodeHeader({ ...good, vaultId: 'XYZ' })).code).toBe('E_INTERNAL');
    expect(thrown(() => encodeHeader({ ...good, salt: Buffer.alloc(8) })).code).toBe('E_INTERNAL');
    expect(thrown(() => encodeHeader({ ...good, kdf: { ...good.kdf, iterations: 1 } })).code).toBe('E_VAULT_CORRUPT');
  });
});

describe('vault parsing', () => {
  const file = sealWithKey(newHeader('keychain'), key, sample);

  it('never throws anything but E_VAULT_CORRUPT on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          parseVault(bytes);
        } catch (err) {
          expect(isOnecliError(err, 'E_VAULT_CORRUPT')).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but E_VAULT_CORRUPT on random edits of a real vault', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(HEADER_LENGTH + 20), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(file.length), (edits, cut) => {
        const bytes = Buffer.from(file.subarray(0, cut));
        for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
        try {
          parseVault(bytes);
        } catch (err) {
          expect(isOnecliError(err, 'E_VAULT_CORRUPT')).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('says which problem a refused file has', () => {
    const edit = (at: number, value: number): Buffer => {
      const copy = Buffer.from(file);
      copy[at] = value;
      return copy;
    };
    expect(thrown(() => parseVault(Buffer.from('{"secrets":[]}'))).message).toMatch(/^not an onecli vault/);
    expect(thrown(() => parseVault(new Uint8Array(0))).message).toMatch(/^the vault file is truncated \(0 bytes/);
    expect(thrown(() => parseVault(MAGIC.subarray(0, 3))).message).toMatch(/truncated/);
    const newer = thrown(() => parseVault(edit(7, 2)));
    expect(newer.message).toBe('vault format version 2 is newer than this onecli understands (1)');
    expect(newer.hints.join(' ')).toMatch(/upgrade onecli/);
    expect(thrown(() => parseVault(file.subarray(0, 8))).message).toMatch(/truncated/);
    expect(thrown(() => parseVault(edit(8, 3))).message).toBe('the vault names an unknown master key kind (3)');
    expect(thrown(() => parseVault(edit(9, 2))).message).toBe('the vault names an unknown KDF (2)');
    const greedy = Buffer.from(file);
    greedy.writeUInt32BE(4 * 1024 * 1024, 10);
    expect(thrown(() => parseVault(greedy)).message).toBe('the vault asks for 4 GiB of KDF memory; the limit is 1 GiB');
    expect(thrown(() => parseVault(edit(10, 0x40))).message).toMatch(/KDF memory; the limit is 1 GiB$/);
    expect(thrown(() => parseVault(edit(18, 0))).message).toMatch(/parallelism of 0/);
    expect(thrown(() => parseVault(file.subarray(0, HEADER_LENGTH + 15))).message).toMatch(/truncated/);
  });

  it('does not keep references into the caller\'s buffer', () => {
    const copy = Buffer.from(file);
    const parsed = parseVault(copy);
    copy.fill(0);
    expect(parsed.header.salt.equals(file.subarray(35, 51))).toBe(true);
    expect(parsed.sealed.equals(file.subarray(HEADER_LENGTH))).toBe(true);
  });
});

describe('sealing with a raw key', () => {
  it('opens to the same plaintext and header for any plaintext and header', () => {
    fc.assert(
      fc.property(headerArb, fc.uint8Array({ maxLength: 500 }), (header, plaintext) => {
        const opened = openWithKey(sealWithKey(header, key, plaintext), key);
        expect(opened.plaintext.equals(Buffer.from(plaintext))).toBe(true);
        expect({ ...opened.header, nonce: header.nonce }).toEqual(header);
      }),
      { numRuns: 200 },
    );
  });

  it('draws a fresh nonce on every seal, so two seals of the same data differ', () => {
    const header = newHeader('keychain');
    const a = sealWithKey(header, key, sample);
    const b = sealWithKey(header, key, sample);
    expect(parseVault(a).header.nonce.equals(parseVault(b).header.nonce)).toBe(false);
    expect(parseVault(a).header.nonce.equals(header.nonce)).toBe(false);
    expect(a.subarray(HEADER_LENGTH).equals(b.subarray(HEADER_LENGTH))).toBe(false);
  });

  it('rejects every single-bit flip anywhere in a small vault', () => {
    const small = sealWithKey(newHeader('passphrase'), key, Buffer.from('{"v":1}'));
    let rejected = 0;
    for (let bit = 0; bit < small.length * 8; bit++) {
      const flipped = Buffer.from(small);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      const err = thrown(() => openWithKey(flipped, key));
      expect(err.code).toBe('E_VAULT_CORRUPT');
      rejected++;
    }
    expect(rejected).toBe(small.length * 8);
  });

  it('rejects a different key with the one terse message', () => {
    const sealed = sealWithKey(newHeader('keychain'), key, sample);
    expect(thrown(() => openWithKey(sealed, randomBytes(32))).message).toBe(DECRYPT_FAILURE_MESSAGE);
  });

  it('never writes the plaintext into the file', () => {
    const sealed = sealWithKey(newHeader('keychain'), key, Buffer.from('sk_live_CANARYformatTest'));
    expect(sealed.includes(Buffer.from('CANARY'))).toBe(false);
  });
});

describe('sealing with a master secret (real Argon2id)', () => {
  it('opens with the same master secret, returns the derived key, and refuses another one', async () => {
    const secret = randomBytes(32);
    const { bytes, key: derived } = await sealVault(newHeader('keychain'), secret, sample);
    const opened = await openVault(bytes, secret);
    expect(opened.plaintext.equals(sample)).toBe(true);
    expect(opened.key.equals(derived)).toBe(true);
    // The returned key re-seals without another KDF run, and the result still opens with the master secret.
    const resealed = sealWithKey(opened.header, opened.key, Buffer.from('next'));
    expect((await openVault(resealed, secret)).plaintext.toString()).toBe('next');
    await expect(openVault(bytes, randomBytes(32))).rejects.toMatchObject({ code: 'E_VAULT_CORRUPT', message: DECRYPT_FAILURE_MESSAGE });
  });

  it('refuses a hostile header before any key derivation', async () => {
    const bytes = sealWithKey(newHeader('keychain'), key, sample);
    bytes.writeUInt32BE(4 * 1024 * 1024, 10);
    // An empty secret would make deriveKey fail with E_BAD_PASSPHRASE: E_VAULT_CORRUPT proves parsing came first.
    await expect(openVault(bytes, new Uint8Array(0))).rejects.toMatchObject({ code: 'E_VAULT_CORRUPT', message: 'the vault asks for 4 GiB of KDF memory; the limit is 1 GiB' });
  });
});
