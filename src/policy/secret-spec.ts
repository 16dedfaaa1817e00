import { OnecliError } from '../errors.js';
import type { Injection, SecretRecord } from '../vault/secret.js';
import { formatHostPattern, parseHostPattern } from './host-pattern.js';
import { parsePathPattern } from './path-pattern.js';
import { findPreset } from './presets.js';

export const SECRET_NAME = /^[a-z0-9_-]{1,64}$/;

/** What `secret add` was asked for, before a preset fills the gaps. */
export interface SecretSpecInput {
  name: string;
  hosts?: string[] | undefined;
  paths?: string[] | undefined;
  header?: string | undefined;
  query?: string | undefined;
  env?: string | undefined;
  allowHttp?: boolean | undefined;
}

export type SecretRules = Omit<SecretRecord, 'value' | 'version' | 'created' | 'rotated'>;

export function checkSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new OnecliError('E_BAD_NAME', `secret name ${JSON.stringify(name)} is not allowed`, [
      'use 1 to 64 characters from a-z, 0-9, "_" and "-", e.g. "stripe" or "github-ci"',
    ]);
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers that frame the request or address the proxy: a credential template may not set them. */
const FORBIDDEN_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'proxy-authorization', 'upgrade', 'te', 'trailer', 'keep-alive', 'expect']);
const SLOT = /\{(value|basic|basic:[^{}:\r\n]{1,64})\}/g;

export function parseHeaderSpec(spec: string): Injection {
  const hint = 'write it as \'Header-Name: template\' with one {value}, e.g. \'Authorization: Bearer {value}\' or \'x-api-key: {value}\'';
  const colon = spec.indexOf(':');
  const header = colon > 0 ? spec.slice(0, colon).trim() : '';
  const template = colon > 0 ? spec.slice(colon + 1).trim() : '';
  if (!TOKEN.test(header)) throw new OnecliError('E_BAD_PATTERN', `header ${JSON.stringify(spec)} has no valid header name`, hint);
  if (FORBIDDEN_HEADERS.has(header.toLowerCase())) {
    throw new OnecliError('E_BAD_PATTERN', `header ${JSON.stringify(header)} cannot carry a credential`, hint);
  }
  const slots = template.match(SLOT) ?? [];
  if (slots.length !== 1 || /[\r\n\0]/.test(template) || template.replace(SLOT, '').includes('{')) {
    throw new OnecliError('E_BAD_PATTERN', `header template ${JSON.stringify(template)} must hold exactly one {value}, {basic} or {basic:USER}`, hint);
  }
  return { type: 'header', header, template };
}

export function checkQueryParam(param: string): Injection {
  if (!/^[A-Za-z0-9_.~-]{1,64}$/.test(param)) {
    throw new OnecliError('E_BAD_PATTERN', `query parameter ${JSON.stringify(param)} is not a plain parameter name`, 'use letters, digits, "_", ".", "~" or "-", e.g. --query api_key');
  }
  return { type: 'query', param };
}

/** Variables onecli sets or that change how the child runs: a placeholder may not take their place. */
const RESERVED_ENV = /^(PATH|HOME|USER|SHELL|PWD|NODE_OPTIONS|NODE_EXTRA_CA_CERTS|NODE_USE_ENV_PROXY|SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|GIT_SSL_CAINFO|DENO_CERT|(HTTPS?|ALL|NO)_PROXY|LD_.*|DYLD_.*|ONECLI_.*)$/i;

export function checkEnvName(env: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(env)) {
    throw new OnecliError('E_BAD_PATTERN', `environment variable name ${JSON.stringify(env)} is not valid`, 'use letters, digits and "_", not starting with a digit, e.g. --env STRIPE_API_KEY');
  }
  if (RESERVED_ENV.test(env)) {
    throw new OnecliError('E_BAD_PATTERN', `environment variable ${JSON.stringify(env)} is one onecli run sets or relies on`, 'pick another name for the placeholder, e.g. MY_API_KEY');
  }
  return env;
}

/** Validates the flags, fills the gaps from a preset of the same name, and returns the rules to store. */
export function buildSecretRules(input: SecretSpecInput): SecretRules {
  checkSecretName(input.name);
  const preset = findPreset(input.name);
  const hosts = input.hosts?.length ? input.hosts : preset?.hosts ?? [];
  if (hosts.length === 0) {
    throw new OnecliError('E_USAGE', `secret ${JSON.stringify(input.name)} needs at least one --host`, [
      'e.g. `onecli secret add NAME --host api.example.com`',
      'or use a known provider name: `onecli secret add --list-presets`',
    ]);
  }
  if (input.header !== undefined && input.query !== undefined) {
    throw new OnecliError('E_USAGE', '--header and --query cannot be used together', 'a secret is injected one way: choose one');
  }
  const injection =
    input.query !== undefined
      ? checkQueryParam(input.query)
      : parseHeaderSpec(input.header ?? preset?.header ?? 'Authorization: Bearer {value}');
  const paths = input.paths?.length ? input.paths : preset?.paths ?? [];
  const env = input.env ?? preset?.env;
  return {
    name: input.name,
    hosts: [...new Set(hosts.map((h) => formatHostPattern(parseHostPattern(h))))],
    paths: paths.map((p) => parsePathPattern(p).source),
    injection,
    env: env === undefined ? null : checkEnvName(env),
    allowHttp: input.allowHttp ?? false,
    preset: preset ? preset.name : null,
  };
}
