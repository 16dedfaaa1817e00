import { describe, expect, it } from 'vitest';
import { checkKdfParams, DEFAULT_KDF_PARAMS, deriveKey, formatKiB, KDF_BOUNDS, type KdfParams } from '../../../src/crypto/kdf.js';
import { isOnecliError, OnecliError } from '../../../src/errors.js';

function expectCorrupt(params: KdfParams, message: string): void {
  let caught: unknown;
  try {
    checkKdfParams(params);
  } catch (err) {
    caught = err;
  }
  expect(isOnecliError(caught, 'E_VAULT_CORRUPT')).toBe(true);
  expect((caught as OnecliError).message).toBe(message);
  expect((caught as OnecliError).hints.length).toBeGreaterThan(0);
}

describe('Argon2id key derivation', () => {
  it('matches the reference implementation on a known answer', async () => {
    // From the argon2 reference CLI (phc-winner-argon2, Debian package "argon2"):
    //   echo -n "onecli known answer" | argon2 "onecli-kat-salt!" -id -t 3 -m 16 -p 1 -l 32 -r
    const key = await deriveKey(Buffer.from('onecli known answer'), Buffer.from('onecli-kat-salt!'), DEFAULT_KDF_PARAMS);
    expect(key.toString('hex')).toBe('f800741c083d826364bd4fb5833756abeac2dfbdec6e1569d3526109f7314579');
  });

  it('gives a different key for another salt', async () => {
    const key = await deriveKey(Buffer.from('onecli known answer'), Buffer.from('another-salt-16b'), DEFAULT_KDF_PARAMS);
    expect(key).toHaveLength(32);
    expect(key.toString('hex')).not.toBe('f800741c083d826364bd4fb5833756abeac2dfbdec6e1569d3526109f7314579');
  });

  it('refuses a 4 GiB memory cost before doing any work', async () => {
    const params = { ...DEFAULT_KDF_PARAMS, memoryKiB: 4 * 1024 * 1024 };
    await expect(deriveKey(Buffer.from('x'), Buffer.alloc(16), params)).rejects.toMatchObject({
      code: 'E_VAULT_CORRUPT',
      message: 'the vault asks for 4 GiB of KDF memory; the limit is 1 GiB',
    });
  });

  it('refuses an empty master secret and a short salt', async () => {
    await expect(deriveKey(new Uint8Array(0), Buffer.alloc(16), DEFAULT_KDF_PARAMS)).rejects.toMatchObject({ code: 'E_BAD_PASSPHRASE' });
    await expect(deriveKey(Buffer.from('x'), Buffer.alloc(8), DEFAULT_KDF_PARAMS)).rejects.toMatchObject({ code: 'E_INTERNAL' });
  });
});

describe('KDF parameter bounds', () => {
  it('defaults to 64 MiB, 3 iterations, parallelism 1, and the default cannot be lowered at run time', () => {
    expect(DEFAULT_KDF_PARAMS).toEqual({ memoryKiB: 65536, iterations: 3, parallelism: 1 });
    expect(Object.isFrozen(DEFAULT_KDF_PARAMS)).toBe(true);
    expect(Object.isFrozen(KDF_BOUNDS.floor)).toBe(true);
    expect(() => checkKdfParams(DEFAULT_KDF_PARAMS)).not.toThrow();
  });

  it('accepts the floor and the cap themselves', () => {
    expect(() => checkKdfParams(KDF_BOUNDS.floor)).not.toThrow();
    expect(() => checkKdfParams(KDF_BOUNDS.cap)).not.toThrow();
    expect(KDF_BOUNDS.floor).toEqual({ memoryKiB: 65536, iterations: 3, parallelism: 1 });
    expect(KDF_BOUNDS.cap).toEqual({ memoryKiB: 1048576, iterations: 64, parallelism: 16 });
  });

  it('says exactly which parameter is out of bounds and what the limit is', () => {
    const d = DEFAULT_KDF_PARAMS;
    expectCorrupt({ ...d, memoryKiB: 1048577 }, 'the vault asks for 1048577 KiB of KDF memory; the limit is 1 GiB');
    expectCorrupt({ ...d, memoryKiB: 32768 }, 'the vault asks for 32 MiB of KDF memory; onecli requires at least 64 MiB');
    expectCorrupt({ ...d, iterations: 2 }, 'the vault asks for 2 KDF iterations; onecli requires at least 3');
    expectCorrupt({ ...d, iterations: 65 }, 'the vault asks for 65 KDF iterations; the limit is 64');
    expectCorrupt({ ...d, parallelism: 0 }, 'the vault asks for a KDF parallelism of 0; onecli requires at least 1');
    expectCorrupt({ ...d, parallelism: 17 }, 'the vault asks for a KDF parallelism of 17; the limit is 16');
  });

  it('refuses values that are not whole numbers', () => {
    for (const bad of [Number.NaN, Infinity, 3.5, -3]) {
      expect(() => checkKdfParams({ ...DEFAULT_KDF_PARAMS, iterations: bad })).toThrow(OnecliError);
    }
  });

  it('names memory sizes the way people read them', () => {
    expect(formatKiB(65536)).toBe('64 MiB');
    expect(formatKiB(4 * 1024 * 1024)).toBe('4 GiB');
    expect(formatKiB(1000)).toBe('1000 KiB');
  });
});
