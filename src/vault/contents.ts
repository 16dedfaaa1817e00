import crypto from 'node:crypto';
import { OnecliError } from '../errors.js';
import { secretView, type Injection, type SecretRecord, type SecretView } from './secret.js';

/** What the encrypted part of the vault holds. */
export interface VaultContents {
  secrets: SecretRecord[];
  /** HMAC key of the audit chain: random per vault, kept across `rotate --master` so old logs still verify */
  auditKey: Buffer;
}

/** The on-disk JSON shapes: the public view of a secret plus its value. */
type SecretJson = SecretView & { value: string };

interface ContentsJson {
  version: 1;
  secrets: SecretJson[];
  audit_key: string;
}

export function emptyContents(): VaultContents {
  return { secrets: [], auditKey: crypto.randomBytes(32) };
}

export function encodeContents(contents: VaultContents): Buffer {
  const json: ContentsJson = {
    version: 1,
    secrets: contents.secrets.map((s) => ({ ...secretView(s), value: s.value })),
    audit_key: contents.auditKey.toString('base64'),
  };
  return Buffer.from(JSON.stringify(json), 'utf8');
}

function corrupt(what: string): OnecliError {
  // Only reachable when the AES-GCM tag verified, i.e. a bug or a foreign writer with the key — never echo contents.
  return new OnecliError('E_VAULT_CORRUPT', `the vault decrypted but its contents are malformed (${what})`, [
    'restore the vault from a backup; this is not a wrong key or passphrase',
  ]);
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

function parseInjection(raw: unknown): Injection {
  const obj = raw as Record<string, unknown> | null;
  if (obj?.['type'] === 'header' && isString(obj['header']) && isString(obj['template'])) {
    return { type: 'header', header: obj['header'], template: obj['template'] };
  }
  if (obj?.['type'] === 'query' && isString(obj['param'])) return { type: 'query', param: obj['param'] };
  throw corrupt('an injection rule');
}

function parseSecret(raw: unknown, index: number): SecretRecord {
  const s = raw as Record<string, unknown> | null;
  const ok =
    s !== null &&
    typeof s === 'object' &&
    isString(s['name']) &&
    isString(s['value']) &&
    isStringArray(s['hosts']) &&
    isStringArray(s['paths']) &&
    (s['env'] === null || isString(s['env'])) &&
    typeof s['allow_http'] === 'boolean' &&
    (s['preset'] === null || isString(s['preset'])) &&
    Number.isInteger(s['version']) &&
    isString(s['created']) &&
    (s['rotated'] === null || isString(s['rotated']));
  if (!ok) throw corrupt(`secret #${index + 1}`);
  return {
    name: s['name'] as string,
    value: s['value'] as string,
    hosts: s['hosts'] as string[],
    paths: s['paths'] as string[],
    injection: parseInjection(s['injection']),
    env: s['env'] as string | null,
    allowHttp: s['allow_http'] as boolean,
    preset: s['preset'] as string | null,
    version: s['version'] as number,
    created: s['created'] as string,
    rotated: s['rotated'] as string | null,
  };
}

export function parseContents(plaintext: Uint8Array): VaultContents {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(plaintext).toString('utf8'));
  } catch {
    throw corrupt('not JSON');
  }
  const obj = json as Partial<Record<keyof ContentsJson, unknown>> | null;
  if (obj === null || typeof obj !== 'object' || obj.version !== 1) throw corrupt('unknown contents version');
  if (!Array.isArray(obj.secrets) || !isString(obj.audit_key)) throw corrupt('missing fields');
  const auditKey = Buffer.from(obj.audit_key, 'base64');
  if (auditKey.length !== 32) throw corrupt('audit key');
  return { secrets: obj.secrets.map(parseSecret), auditKey };
}
