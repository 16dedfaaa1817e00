#!/usr/bin/env node
/**
 * Makes the vault format test vectors in test/vectors/v1/: one scenario per file, a header of `key: value` lines,
 * a blank line, then the raw vault bytes. Run `node test/vectors/generate.mjs` to rewrite them and
 * `node test/vectors/generate.mjs --check` to confirm the committed files are exactly what this script makes.
 *
 * The byte layout is written out here on purpose instead of importing src/ or dist/: the vectors are a second,
 * independent implementation of docs/vault-format.md, and test/unit/vault/vectors.test.ts runs the TypeScript reader
 * against them. All "random" values are derived from the scenario name, so regenerating changes nothing.
 *
 * Never edit the vector files by hand.
 */
import { createCipheriv, createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashRaw } from '@node-rs/argon2';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'v1');

const MAGIC = Buffer.from('ONECLI\0', 'latin1');
const HEADER_LENGTH = 63;
const KEYCHAIN = 1;
const PASSPHRASE = 2;
const ARGON2ID = 1;
const DEFAULT_KDF = { memoryKiB: 65536, iterations: 3, parallelism: 1 };

/** Deterministic bytes for a label: SHA-256 in counter mode. */
function bytesFor(label, length) {
  const out = [];
  for (let counter = 0; out.length * 32 < length; counter++) {
    out.push(createHash('sha256').update(`onecli test vectors/${label}/${counter}`).digest());
  }
  return Buffer.concat(out).subarray(0, length);
}

function encodeHeader({ version = 1, master, kdfId = ARGON2ID, kdf, vaultId, salt, nonce }) {
  const header = Buffer.alloc(HEADER_LENGTH);
  MAGIC.copy(header, 0);
  header.writeUInt8(version, 7);
  header.writeUInt8(master, 8);
  header.writeUInt8(kdfId, 9);
  header.writeUInt32BE(kdf.memoryKiB, 10);
  header.writeUInt32BE(kdf.iterations, 14);
  header.writeUInt8(kdf.parallelism, 18);
  vaultId.copy(header, 19);
  salt.copy(header, 35);
  nonce.copy(header, 51);
  return header;
}

async function deriveKey(secret, salt, kdf) {
  // Argon2id (algorithm 2), version 0x13 (enum value 1), 32-byte output.
  return hashRaw(secret, { algorithm: 2, version: 1, memoryCost: kdf.memoryKiB, timeCost: kdf.iterations, parallelism: kdf.parallelism, outputLen: 32, salt });
}

function seal(key, nonce, plaintext, aad) {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** A well-formed vault for scenario `name`; the master secret and contents are derived from the name. */
async function makeVault(name, { master = KEYCHAIN, passphrase, kdf = DEFAULT_KDF } = {}) {
  const secret = passphrase === undefined ? bytesFor(`${name}/master`, 32) : Buffer.from(passphrase.normalize('NFC'), 'utf8');
  const fields = { master, kdf, vaultId: bytesFor(`${name}/id`, 16), salt: bytesFor(`${name}/salt`, 16), nonce: bytesFor(`${name}/nonce`, 12) };
  const header = encodeHeader(fields);
  const plaintext = Buffer.from(JSON.stringify({ version: 1, secrets: [], audit_key: bytesFor(`${name}/audit`, 32).toString('base64') }), 'utf8');
  const key = await deriveKey(secret, fields.salt, kdf);
  return { bytes: Buffer.concat([header, seal(key, fields.nonce, plaintext, header)]), secret, plaintext, fields };
}

function flipBit(bytes, offset, bit = 0) {
  const copy = Buffer.from(bytes);
  copy[offset] ^= 1 << bit;
  return copy;
}

function withHeaderField(bytes, write) {
  const copy = Buffer.from(bytes);
  write(copy);
  return copy;
}

const scenarios = [];
function scenario(name, expect, comment, build) {
  scenarios.push({ name, expect, comment, build });
}

// ---- success -------------------------------------------------------------------------------------------------
scenario('success_keychain', 'success', 'a keychain vault: the master secret is 32 random bytes', async (name) => {
  const v = await makeVault(name);
  return { bytes: v.bytes, master: v.secret, plaintext: v.plaintext };
});
scenario('success_passphrase', 'success', 'a passphrase vault: the master secret is the UTF-8 bytes of the NFC-normalized passphrase', async (name) => {
  const v = await makeVault(name, { master: PASSPHRASE, passphrase: 'correct horse battery staple — naïve café' });
  return { bytes: v.bytes, master: v.secret, plaintext: v.plaintext };
});

// ---- decrypt failures: the header is acceptable, the key derivation runs, the tag check fails -----------------------
scenario('decrypt_wrong_key', 'decrypt failure', 'a keychain vault opened with another 32-byte master secret', async (name) => {
  const v = await makeVault(name);
  return { bytes: v.bytes, master: bytesFor(`${name}/other`, 32) };
});
scenario('decrypt_passphrase_not_nfc', 'decrypt failure', 'the right passphrase in NFD form: readers MUST normalize to NFC before the KDF', async (name) => {
  const phrase = 'naïve café';
  const v = await makeVault(name, { master: PASSPHRASE, passphrase: phrase });
  return { bytes: v.bytes, master: Buffer.from(phrase.normalize('NFD'), 'utf8') };
});
scenario('decrypt_header_salt_flipped', 'decrypt failure', 'one bit of the salt flipped (other key, and the header is the AAD)', async (name) => {
  const v = await makeVault(name);
  return { bytes: flipBit(v.bytes, 35 + 7, 3), master: v.secret };
});
scenario('decrypt_header_master_kind_swapped', 'decrypt failure', 'master kind changed from keychain (1) to passphrase (2): the header is authenticated', async (name) => {
  const v = await makeVault(name);
  return { bytes: withHeaderField(v.bytes, (b) => b.writeUInt8(PASSPHRASE, 8)), master: v.secret };
});
scenario('decrypt_header_kdf_memory_flipped', 'decrypt failure', 'lowest bit of the KDF memory flipped (65537 KiB, still within bounds): the header is authenticated', async (name) => {
  const v = await makeVault(name);
  return { bytes: flipBit(v.bytes, 13, 0), master: v.secret };
});
scenario('decrypt_ciphertext_flipped', 'decrypt failure', 'one bit of the ciphertext flipped', async (name) => {
  const v = await makeVault(name);
  return { bytes: flipBit(v.bytes, HEADER_LENGTH + 5, 6), master: v.secret };
});
scenario('decrypt_tag_flipped', 'decrypt failure', 'one bit of the tag flipped', async (name) => {
  const v = await makeVault(name);
  return { bytes: flipBit(v.bytes, v.bytes.length - 1, 7), master: v.secret };
});
scenario('decrypt_truncated_mid_ciphertext', 'decrypt failure', 'cut in the middle of the ciphertext (still longer than a tag)', async (name) => {
  const v = await makeVault(name);
  return { bytes: v.bytes.subarray(0, HEADER_LENGTH + Math.floor((v.bytes.length - HEADER_LENGTH) / 2)), master: v.secret };
});
scenario('decrypt_truncated_one_byte_short', 'decrypt failure', 'the last byte removed', async (name) => {
  const v = await makeVault(name);
  return { bytes: v.bytes.subarray(0, v.bytes.length - 1), master: v.secret };
});

// ---- header failures: readers MUST refuse these before any key derivation -----------------------------------------
/** A vault whose KDF is never run by a conforming reader; sealing it costs one default KDF run at most. */
let template;
async function templateVault() {
  template ??= await makeVault('header_template');
  return template;
}
function headerFailure(name, comment, edit) {
  scenario(name, 'header failure', comment, async () => {
    const v = await templateVault();
    return { bytes: edit(v.bytes), master: v.secret };
  });
}
headerFailure('header_magic_flipped', 'one bit of the magic flipped ("ONECLI" becomes "NNECLI")', (b) => flipBit(b, 0, 0));
headerFailure('header_not_a_vault', 'a JSON file where the vault should be', () => Buffer.from('{"version":1,"secrets":[]}\n'));
headerFailure('header_version_flipped', 'lowest bit of the version flipped (version 0 does not exist)', (b) => flipBit(b, 7, 0));
headerFailure('header_unknown_version', 'format version 2, newer than this reader', (b) => withHeaderField(b, (c) => c.writeUInt8(2, 7)));
headerFailure('header_unknown_master_kind', 'master kind 3', (b) => withHeaderField(b, (c) => c.writeUInt8(3, 8)));
headerFailure('header_kdf_id_flipped', 'lowest bit of the KDF id flipped (KDF 0 does not exist)', (b) => flipBit(b, 9, 0));
headerFailure('header_kdf_memory_high_bit_flipped', 'top bit of the KDF memory flipped (2 TiB + 64 MiB)', (b) => flipBit(b, 10, 7));
headerFailure('header_kdf_memory_above_cap', 'KDF memory 4 GiB; the cap is 1 GiB', (b) => withHeaderField(b, (c) => c.writeUInt32BE(4 * 1024 * 1024, 10)));
headerFailure('header_kdf_iterations_above_cap', 'KDF iterations 65; the cap is 64', (b) => withHeaderField(b, (c) => c.writeUInt32BE(65, 14)));
headerFailure('header_kdf_parallelism_zero', 'KDF parallelism 0', (b) => withHeaderField(b, (c) => c.writeUInt8(0, 18)));
headerFailure('header_kdf_parallelism_above_cap', 'KDF parallelism 17; the cap is 16', (b) => withHeaderField(b, (c) => c.writeUInt8(17, 18)));
headerFailure('header_truncated_empty', 'an empty file', (b) => b.subarray(0, 0));
headerFailure('header_truncated_inside_magic', 'cut after 3 bytes, inside the magic', (b) => b.subarray(0, 3));
headerFailure('header_truncated_inside_header', 'cut after 40 bytes, inside the salt', (b) => b.subarray(0, 40));
headerFailure('header_truncated_after_header', 'the header alone, no ciphertext and no tag', (b) => b.subarray(0, HEADER_LENGTH));
headerFailure('header_truncated_inside_tag', 'header plus 15 bytes: shorter than a tag', (b) => b.subarray(0, HEADER_LENGTH + 15));

// Weak parameters honestly used: the tag WOULD verify, and readers MUST still refuse.
scenario('header_kdf_memory_below_floor', 'header failure', 'sealed for real with 32 MiB of KDF memory (below the 64 MiB floor): refused although the tag is valid', async (name) => {
  const v = await makeVault(name, { kdf: { ...DEFAULT_KDF, memoryKiB: 32768 } });
  return { bytes: v.bytes, master: v.secret };
});
scenario('header_kdf_iterations_below_floor', 'header failure', 'sealed for real with 2 KDF iterations (below the floor of 3): refused although the tag is valid', async (name) => {
  const v = await makeVault(name, { kdf: { ...DEFAULT_KDF, iterations: 2 } });
  return { bytes: v.bytes, master: v.secret };
});

function render({ expect, comment, master, plaintext }, bytes) {
  const lines = [`expect: ${expect}`, `master: ${master.toString('base64')}`];
  if (plaintext !== undefined) lines.push(`plaintext: ${plaintext.toString('base64')}`);
  lines.push(`comment: ${comment}`);
  return Buffer.concat([Buffer.from(`${lines.join('\n')}\n\n`, 'utf8'), bytes]);
}

async function generate() {
  const files = new Map();
  for (const { name, expect, comment, build } of scenarios) {
    const { bytes, master, plaintext } = await build(name);
    files.set(name, render({ expect, comment, master, plaintext }, bytes));
  }
  return files;
}

const files = await generate();
if (process.argv.includes('--check')) {
  const present = fs.existsSync(OUT) ? fs.readdirSync(OUT).sort() : [];
  const problems = [];
  for (const name of present) if (!files.has(name)) problems.push(`${name}: not made by this script`);
  for (const [name, content] of files) {
    const file = path.join(OUT, name);
    if (!fs.existsSync(file)) problems.push(`${name}: missing`);
    else if (!fs.readFileSync(file).equals(content)) problems.push(`${name}: differs from what this script makes`);
  }
  if (problems.length > 0) {
    process.stderr.write(`test vectors are out of date (run node test/vectors/generate.mjs):\n${problems.join('\n')}\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`${files.size} test vectors match\n`);
  }
} else {
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  for (const [name, content] of files) fs.writeFileSync(path.join(OUT, name), content);
  process.stdout.write(`wrote ${files.size} test vectors to ${path.relative(process.cwd(), OUT) || '.'}\n`);
}
