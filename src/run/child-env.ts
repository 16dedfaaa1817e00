/**
 * The environment `onecli run` gives its child (SPEC, `onecli run`): every proxy variable points at the run's proxy,
 * every CA variable at the run's bundle, Node gets a preload, and each secret's variable holds a placeholder.
 * Nothing in it can open the vault or carries a secret value.
 */

export interface ChildEnvOptions {
  /** `http://onecli:TOKEN@127.0.0.1:PORT` */
  proxyUrl: string;
  /** system roots + onecli's own extra CAs + the run's CA */
  bundlePath: string;
  /** the run's CA + onecli's own extra CAs, for NODE_EXTRA_CA_CERTS (Node keeps its built-in roots) */
  nodeCaPath: string;
  /** the CommonJS preload, appended to NODE_OPTIONS as `--require` */
  preloadPath: string;
  /** env var name → placeholder */
  placeholders: ReadonlyMap<string, string>;
  /**
   * Real values of the secrets in scope: any inherited variable that holds one is dropped, so a value the user also
   * exported in their shell never reaches the child.
   */
  scrubValues?: readonly string[];
}

const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'all_proxy'] as const;
const NO_PROXY_VARS = ['NO_PROXY', 'no_proxy'] as const;

/** The bundle replaces the default roots for these clients, so it must (and does) hold the system roots too. */
const BUNDLE_VARS = ['SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'GIT_SSL_CAINFO', 'DENO_CERT'] as const;

/**
 * Other tools' "use this CA file instead of the defaults" variables. They are pointed at the bundle only when the
 * parent set them: left alone, they would make those tools reject the run's certificates on decrypted hosts.
 */
const BUNDLE_VARS_IF_SET = [
  'NIX_SSL_CERT_FILE',
  'PIP_CERT',
  'AWS_CA_BUNDLE',
  'HTTPLIB2_CA_CERTS',
  'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH',
  'CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE',
  'CARGO_HTTP_CAINFO',
  'NPM_CONFIG_CAFILE',
  'npm_config_cafile',
] as const;

/**
 * onecli's own variables are dropped except ONECLI_HOME: ONECLI_PASSPHRASE would let the agent open the vault, and
 * test hooks (such as a lowered KDF cost) are none of its business.
 */
const KEEP_ONECLI_VARS: ReadonlySet<string> = new Set(['ONECLI_HOME']);

/** Quotes a path for NODE_OPTIONS, which splits on spaces and understands double quotes with backslash escapes. */
export function quoteNodeOption(value: string): string {
  if (/^[A-Za-z0-9_./:@%+=,-]+$/.test(value)) return value;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const MIN_SCRUB_LENGTH = 8;

export function buildChildEnv(parentEnv: NodeJS.ProcessEnv, options: ChildEnvOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // A very short value (a test's "x") would match half the environment, PATH included, and break the child; real
  // credentials are far longer than this.
  const scrub = (options.scrubValues ?? []).filter((value) => value.length >= MIN_SCRUB_LENGTH);
  for (const [name, value] of Object.entries(parentEnv)) {
    if (value === undefined) continue;
    if (name.startsWith('ONECLI_') && !KEEP_ONECLI_VARS.has(name)) continue;
    if (scrub.some((secret) => value.includes(secret))) continue;
    env[name] = value;
  }

  for (const name of NO_PROXY_VARS) delete env[name];
  for (const name of PROXY_VARS) env[name] = options.proxyUrl;

  for (const name of BUNDLE_VARS) env[name] = options.bundlePath;
  for (const name of BUNDLE_VARS_IF_SET) if (env[name] !== undefined) env[name] = options.bundlePath;
  env['NODE_EXTRA_CA_CERTS'] = options.nodeCaPath;

  env['NODE_USE_ENV_PROXY'] = '1';
  const require = `--require ${quoteNodeOption(options.preloadPath)}`;
  const inherited = env['NODE_OPTIONS']?.trim();
  env['NODE_OPTIONS'] = inherited ? `${inherited} ${require}` : require;

  for (const [name, placeholder] of options.placeholders) env[name] = placeholder;
  return env;
}
