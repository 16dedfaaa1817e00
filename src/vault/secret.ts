import { OnecliError } from '../errors.js';

/**
 * A secret is three small parts (after superfly/tokenizer): its value, how it is injected, and where it may go.
 * SecretRecord is the in-memory shape; SecretJson (src/vault/contents.ts) is what the encrypted vault holds.
 */
export type Injection =
  /** template holds `{value}` (or `{basic}` / `{basic:USER}` for HTTP Basic); e.g. header "Authorization", template "Bearer {value}". */
  | { type: 'header'; header: string; template: string }
  | { type: 'query'; param: string };

export interface SecretRecord {
  name: string;
  value: string;
  /** exact hosts or one leading wildcard label: "api.stripe.com", "*.example.com"; validated by src/policy/host-pattern.ts */
  hosts: string[];
  /** path globs matched on the path without the query string; empty = every path */
  paths: string[];
  injection: Injection;
  /** the environment variable the child gets the placeholder in */
  env: string | null;
  /** plain http:// requests get the credential only when true (off by default) */
  allowHttp: boolean;
  preset: string | null;
  version: number;
  created: string;
  rotated: string | null;
}

/** What may be shown: everything but the value. */
export type SecretMetadata = Omit<SecretRecord, 'value'>;

export function redact(secret: SecretRecord): SecretMetadata {
  const { value: _value, ...rest } = secret;
  return rest;
}

/** The public JSON shape of a secret (`--json` output, and the vault's contents without `value`): snake_case, stable. */
export interface SecretView {
  name: string;
  hosts: string[];
  paths: string[];
  injection: Injection;
  env: string | null;
  allow_http: boolean;
  preset: string | null;
  version: number;
  created: string;
  rotated: string | null;
}

export function secretView(s: SecretMetadata): SecretView {
  return {
    name: s.name,
    hosts: s.hosts,
    paths: s.paths,
    injection: s.injection,
    env: s.env,
    allow_http: s.allowHttp,
    preset: s.preset,
    version: s.version,
    created: s.created,
    rotated: s.rotated,
  };
}

export function findSecret<T extends Pick<SecretRecord, 'name'>>(secrets: readonly T[], name: string): T {
  const found = secrets.find((s) => s.name === name);
  if (found === undefined) {
    throw new OnecliError('E_SECRET_NOT_FOUND', `no secret named ${JSON.stringify(name)}`, 'see the names with `onecli secret list`');
  }
  return found;
}
