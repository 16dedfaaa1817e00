import { AsyncEntry, type EntryOptions } from '@napi-rs/keyring';
import { OnecliError } from '../errors.js';

/** Keychain items are `service = onecli`, `account = <vault id>`; the value is the base64 of 32 random bytes. */
export const KEYCHAIN_SERVICE = 'onecli';

/**
 * On Linux the store is pinned to the Secret Service: the default would silently fall back to the kernel keyring,
 * which forgets everything at reboot — a vault that cannot be opened tomorrow is worse than a clear error today.
 */
const ENTRY_OPTIONS: EntryOptions = { linux: { store: 'secret-service' } };

/** A D-Bus call that gets no answer must not hang the CLI. */
const KEYCHAIN_TIMEOUT_MS = 10_000;

const UNAVAILABLE_HINTS = [
  'start a Secret Service (GNOME Keyring, KeePassXC) in this session, or',
  'use a passphrase instead: `onecli init --passphrase`, or set ONECLI_PASSPHRASE',
];

function unavailable(action: string, cause: unknown): OnecliError {
  const detail = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  return new OnecliError('E_KEYCHAIN_UNAVAILABLE', `cannot ${action} the OS keychain: ${detail}`, UNAVAILABLE_HINTS, { cause });
}

function entryFor(account: string): AsyncEntry {
  try {
    return new AsyncEntry(KEYCHAIN_SERVICE, account, ENTRY_OPTIONS);
  } catch (err) {
    throw unavailable('reach', err);
  }
}

export async function storeMasterKey(account: string, key: Buffer): Promise<void> {
  const entry = entryFor(account);
  try {
    await entry.setPassword(key.toString('base64'), AbortSignal.timeout(KEYCHAIN_TIMEOUT_MS));
  } catch (err) {
    throw unavailable('write to', err);
  }
  // A locked keyring can accept the call and keep nothing; read it back so init never leaves an unopenable vault.
  const back = await loadMasterKey(account);
  if (back === null || !back.equals(key)) {
    throw unavailable('write to', new Error('the key could not be read back (is the keyring locked?)'));
  }
}

/** null when the keychain works but holds no key for this vault. */
export async function loadMasterKey(account: string): Promise<Buffer | null> {
  const entry = entryFor(account);
  let stored: string | null;
  try {
    stored = await entry.getPassword(AbortSignal.timeout(KEYCHAIN_TIMEOUT_MS));
  } catch (err) {
    throw unavailable('read from', err);
  }
  if (stored === null) return null;
  const key = Buffer.from(stored, 'base64');
  return key.length === 32 ? key : null;
}

export async function deleteMasterKey(account: string): Promise<void> {
  try {
    await entryFor(account).deletePassword(AbortSignal.timeout(KEYCHAIN_TIMEOUT_MS));
  } catch (err) {
    throw unavailable('delete from', err);
  }
}

/** For `onecli doctor`: a round trip through a throwaway item. */
export async function probeKeychain(): Promise<{ ok: true } | { ok: false; problem: string }> {
  const account = `doctor-probe-${process.pid}`;
  try {
    await storeMasterKey(account, Buffer.alloc(32, 7));
    await deleteMasterKey(account);
    return { ok: true };
  } catch (err) {
    return { ok: false, problem: err instanceof Error ? err.message : String(err) };
  }
}
