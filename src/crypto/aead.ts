/**
 * AES-256-GCM with a 16-byte tag, as the vault uses it: the output is ciphertext || tag, and the whole vault header is
 * the additional data.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { OnecliError } from '../errors.js';

export const AEAD_KEY_LENGTH = 32;
export const AEAD_NONCE_LENGTH = 12;
export const AEAD_TAG_LENGTH = 16;

const CIPHER = 'aes-256-gcm';

/**
 * One message for every failure to open: a wrong key, a wrong passphrase, an edited header and a damaged ciphertext
 * all fail the same tag check, and telling them apart would only help someone guessing.
 */
export const DECRYPT_FAILURE_MESSAGE = 'cannot decrypt the vault: wrong key or passphrase, or a damaged file';
export const DECRYPT_FAILURE_HINTS: readonly string[] = [
  'for a passphrase vault, check the passphrase (ONECLI_PASSPHRASE or the prompt)',
  'for a keychain vault, check that this keychain holds the key made by `onecli init` for this vault',
  'if the file was damaged, restore it from a backup',
];

/** Encrypts and authenticates plaintext and aad; returns ciphertext || 16-byte tag. The caller never reuses a nonce under one key. */
export function sealAead(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  checkSizes(key, nonce);
  const cipher = createCipheriv(CIPHER, key, nonce, { authTagLength: AEAD_TAG_LENGTH });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([body, cipher.getAuthTag()]);
}

/** Checks the tag over sealed and aad and returns the plaintext; any failure is the same E_VAULT_CORRUPT. */
export function openAead(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  checkSizes(key, nonce);
  if (sealed.length < AEAD_TAG_LENGTH) throw decryptFailure();
  const body = sealed.subarray(0, sealed.length - AEAD_TAG_LENGTH);
  const tag = sealed.subarray(sealed.length - AEAD_TAG_LENGTH);
  try {
    const decipher = createDecipheriv(CIPHER, key, nonce, { authTagLength: AEAD_TAG_LENGTH });
    decipher.setAuthTag(tag);
    decipher.setAAD(aad);
    // final() checks the tag; nothing from update() is returned unless it passes.
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw decryptFailure();
  }
}

function decryptFailure(): OnecliError {
  return new OnecliError('E_VAULT_CORRUPT', DECRYPT_FAILURE_MESSAGE, DECRYPT_FAILURE_HINTS);
}

/** Key and nonce sizes come from code, never from file contents (the parser fixes them), so a mismatch is a bug. */
function checkSizes(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== AEAD_KEY_LENGTH || nonce.length !== AEAD_NONCE_LENGTH) {
    throw new OnecliError('E_INTERNAL', `AES-256-GCM needs a ${String(AEAD_KEY_LENGTH)}-byte key and a ${String(AEAD_NONCE_LENGTH)}-byte nonce (got ${String(key.length)} and ${String(nonce.length)})`, 'this is a bug in onecli; please report it');
  }
}
