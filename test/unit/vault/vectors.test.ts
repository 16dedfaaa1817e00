import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DECRYPT_FAILURE_MESSAGE } from '../../../src/crypto/aead.js';
import { isOnecliError } from '../../../src/errors.js';
import { encodeHeader, openVault, openWithKey, parseVault } from '../../../src/vault/format.js';
import { cleanEnv, ROOT, runProcess } from '../../support/cli.js';

const VECTORS = path.join(ROOT, 'test', 'vectors', 'v1');

interface Vector {
  name: string;
  expect: 'success' | 'header failure' | 'decrypt failure';
  master: Buffer;
  plaintext?: Buffer;
  comment: string;
  bytes: Buffer;
}

/** The vector file format: `key: value` lines, a blank line, then the raw vault bytes. */
function readVector(name: string): Vector {
  const raw = fs.readFileSync(path.join(VECTORS, name));
  const split = raw.indexOf('\n\n');
  if (split < 0) throw new Error(`${name}: no blank line after the header`);
  const fields = new Map<string, string>();
  for (const line of raw.subarray(0, split).toString('utf8').split('\n')) {
    const colon = line.indexOf(': ');
    if (colon < 0) throw new Error(`${name}: malformed header line ${JSON.stringify(line)}`);
    fields.set(line.slice(0, colon), line.slice(colon + 2));
  }
  const expectation = fields.get('expect');
  if (expectation !== 'success' && expectation !== 'header failure' && expectation !== 'decrypt failure') throw new Error(`${name}: unknown expect ${String(expectation)}`);
  const plaintext = fields.get('plaintext');
  return {
    name,
    expect: expectation,
    master: Buffer.from(fields.get('master') ?? '', 'base64'),
    ...(plaintext === undefined ? {} : { plaintext: Buffer.from(plaintext, 'base64') }),
    comment: fields.get('comment') ?? '',
    bytes: raw.subarray(split + 2),
  };
}

function parseError(bytes: Buffer): unknown {
  try {
    parseVault(bytes);
  } catch (err) {
    return err;
  }
  return undefined;
}

const vectors = fs.readdirSync(VECTORS).sort().map(readVector);

describe('vault format test vectors', () => {
  it('cover every expectation, both master kinds and the failure classes the spec names', () => {
    const names = vectors.map((v) => v.name);
    expect(vectors.filter((v) => v.expect === 'success').map((v) => v.name)).toEqual(['success_keychain', 'success_passphrase']);
    for (const required of ['decrypt_wrong_key', 'decrypt_tag_flipped', 'decrypt_ciphertext_flipped', 'header_magic_flipped', 'header_unknown_version', 'header_kdf_memory_above_cap', 'header_kdf_iterations_below_floor', 'header_kdf_parallelism_zero', 'header_truncated_empty', 'header_truncated_inside_magic', 'header_truncated_inside_header', 'header_truncated_after_header', 'decrypt_truncated_mid_ciphertext', 'decrypt_truncated_one_byte_short']) {
      expect(names).toContain(required);
    }
  });

  it('are exactly what test/vectors/generate.mjs makes (never edited by hand)', async () => {
    const result = await runProcess(process.execPath, [path.join(ROOT, 'test', 'vectors', 'generate.mjs'), '--check'], { env: cleanEnv() });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  });

  for (const vector of vectors) {
    it(`${vector.name}: ${vector.expect} (${vector.comment})`, async () => {
      if (vector.expect === 'header failure') {
        expect(isOnecliError(parseError(vector.bytes), 'E_VAULT_CORRUPT')).toBe(true);
        // With an empty secret the KDF would fail with E_BAD_PASSPHRASE: E_VAULT_CORRUPT shows the refusal came first.
        await expect(openVault(vector.bytes, new Uint8Array(0))).rejects.toMatchObject({ code: 'E_VAULT_CORRUPT' });
        await expect(openVault(vector.bytes, vector.master)).rejects.toMatchObject({ code: 'E_VAULT_CORRUPT' });
        return;
      }
      // Success and decrypt failure both have a header a reader accepts, and it re-encodes to the same bytes.
      const { header, headerBytes } = parseVault(vector.bytes);
      expect(encodeHeader(header).equals(headerBytes)).toBe(true);
      if (vector.expect === 'decrypt failure') {
        await expect(openVault(vector.bytes, vector.master)).rejects.toMatchObject({ code: 'E_VAULT_CORRUPT', message: DECRYPT_FAILURE_MESSAGE });
        return;
      }
      const opened = await openVault(vector.bytes, vector.master);
      expect(opened.plaintext.toString('base64')).toBe(vector.plaintext?.toString('base64'));
      expect(JSON.parse(opened.plaintext.toString('utf8'))).toMatchObject({ version: 1, secrets: [] });
      expect(openWithKey(vector.bytes, opened.key).plaintext.equals(opened.plaintext)).toBe(true);
    });
  }
});
