import { describe, expect, it } from 'vitest';
import { DECRYPT_FAILURE_MESSAGE, openAead, sealAead } from '../../../src/crypto/aead.js';
import { isOnecliError } from '../../../src/errors.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

// McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, 96-bit IV, with AAD).
const NIST = {
  key: hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308'),
  nonce: hex('cafebabefacedbaddecaf888'),
  aad: hex('feedfacedeadbeeffeedfacedeadbeefabaddad2'),
  plaintext: hex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39'),
  sealed: hex('522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662' + '76fc6ece0f4e1768cddf8853bb2d551b'),
};

function openError(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('AES-256-GCM', () => {
  it('produces ciphertext || tag exactly as the published GCM test vector', () => {
    expect(sealAead(NIST.key, NIST.nonce, NIST.plaintext, NIST.aad).toString('hex')).toBe(NIST.sealed.toString('hex'));
    expect(openAead(NIST.key, NIST.nonce, NIST.sealed, NIST.aad).toString('hex')).toBe(NIST.plaintext.toString('hex'));
  });

  it('gives one terse error for a wrong key, edited data, edited AAD and a short input alike', () => {
    const wrongKey = Buffer.from(NIST.key);
    wrongKey[0]! ^= 1;
    const editedBody = Buffer.from(NIST.sealed);
    editedBody[3]! ^= 0x80;
    const editedTag = Buffer.from(NIST.sealed);
    editedTag[editedTag.length - 1]! ^= 1;
    const editedAad = Buffer.from(NIST.aad);
    editedAad[0]! ^= 1;
    const failures = [
      openError(() => openAead(wrongKey, NIST.nonce, NIST.sealed, NIST.aad)),
      openError(() => openAead(NIST.key, NIST.nonce, editedBody, NIST.aad)),
      openError(() => openAead(NIST.key, NIST.nonce, editedTag, NIST.aad)),
      openError(() => openAead(NIST.key, NIST.nonce, NIST.sealed, editedAad)),
      openError(() => openAead(NIST.key, NIST.nonce, NIST.sealed.subarray(0, 15), NIST.aad)),
    ];
    for (const err of failures) {
      expect(isOnecliError(err, 'E_VAULT_CORRUPT')).toBe(true);
      expect((err as Error).message).toBe(DECRYPT_FAILURE_MESSAGE);
    }
  });

  it('seals an empty plaintext to a bare tag that still authenticates', () => {
    const sealed = sealAead(NIST.key, NIST.nonce, new Uint8Array(0), NIST.aad);
    expect(sealed).toHaveLength(16);
    expect(openAead(NIST.key, NIST.nonce, sealed, NIST.aad)).toHaveLength(0);
  });

  it('treats a wrong key or nonce size as a bug, not as a damaged vault', () => {
    expect(isOnecliError(openError(() => sealAead(Buffer.alloc(16), NIST.nonce, NIST.plaintext, NIST.aad)), 'E_INTERNAL')).toBe(true);
    expect(isOnecliError(openError(() => openAead(NIST.key, Buffer.alloc(16), NIST.sealed, NIST.aad)), 'E_INTERNAL')).toBe(true);
  });
});
