/**
 * One error class and one table of stable codes. Codes never change once shipped; docs/errors.md lists them.
 * Library code throws OnecliError; only src/cli/ turns it into stderr lines, JSON and an exit code.
 */
export const ERROR_CODES = {
  E_INTERNAL: { exit: 1, summary: 'a bug in onecli' },
  E_USAGE: { exit: 2, summary: 'the command line is wrong' },
  E_VAULT_NOT_FOUND: { exit: 3, summary: 'no vault at ONECLI_HOME' },
  E_VAULT_EXISTS: { exit: 4, summary: 'init would overwrite an existing vault' },
  // A wrong passphrase or key and a damaged file fail the same AES-GCM tag check, so they share one code and
  // message: telling them apart would need a key-check value that only helps an attacker confirm a guess faster.
  E_VAULT_CORRUPT: { exit: 5, summary: 'the vault cannot be read or decrypted (damaged file, wrong key or passphrase)' },
  E_BAD_PASSPHRASE: { exit: 5, summary: 'a passphrase vault but no usable passphrase (none given, empty, or not confirmed)' },
  E_VAULT_LOCKED: { exit: 6, summary: 'another onecli held the vault lock for too long' },
  E_KEYCHAIN_UNAVAILABLE: { exit: 7, summary: 'no OS keychain (Secret Service) and no passphrase' },
  E_KEYCHAIN_ENTRY_MISSING: { exit: 7, summary: "the vault's master key is not in this keychain" },
  E_VAULT_IO: { exit: 15, summary: 'the state folder cannot be read or written (disk full, I/O error)' },
  E_VAULT_PERMISSIONS: { exit: 8, summary: 'the vault file or folder is readable or writable by others' },
  E_SECRET_EXISTS: { exit: 9, summary: 'a secret with that name already exists' },
  E_SECRET_NOT_FOUND: { exit: 10, summary: 'no secret with that name' },
  E_EMPTY_VALUE: { exit: 11, summary: 'the secret value is empty' },
  E_BAD_NAME: { exit: 12, summary: 'a secret name outside [a-z0-9_-]{1,64}' },
  E_BAD_PATTERN: { exit: 13, summary: 'a host, path, header, query or env pattern is malformed or too broad' },
  E_NO_VALUE_SOURCE: { exit: 14, summary: 'no value on stdin and no terminal to prompt on' },
  E_AUDIT_INVALID: { exit: 20, summary: 'audit verify found an edited, missing, inserted or reordered line' },
  E_AUDIT_UNAVAILABLE: { exit: 21, summary: 'the audit log cannot be written or read' },
  E_RUN_FAILED: { exit: 125, summary: 'onecli run failed before the command started' },
} as const satisfies Record<string, { exit: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorJson {
  error: { code: ErrorCode; message: string; hints: string[] };
}

export class OnecliError extends Error {
  override readonly name = 'OnecliError';
  readonly code: ErrorCode;
  readonly hints: readonly string[];

  /** message and hints are shown to users: never put a secret value in them; quote public values with JSON.stringify. */
  constructor(code: ErrorCode, message: string, hints: string | readonly string[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.hints = typeof hints === 'string' ? [hints] : hints;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  toJSON(): ErrorJson {
    return { error: { code: this.code, message: this.message, hints: [...this.hints] } };
  }
}

export function isOnecliError(err: unknown, code?: ErrorCode): err is OnecliError {
  return err instanceof OnecliError && (code === undefined || err.code === code);
}
