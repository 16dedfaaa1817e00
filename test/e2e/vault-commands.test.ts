import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCanary, makeCanary, makeSandbox, runCli, type CliResult, type Sandbox } from '../support/cli.js';

const PASSPHRASE = 'correct horse battery staple';
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('the vault commands, spawned as a user runs them (passphrase vault)', () => {
  let box: Sandbox;
  const canary = makeCanary('sk_live_');
  const outputs: Record<string, string> = {};
  const env = (extra: Record<string, string | undefined> = {}) => box.env({ ONECLI_PASSPHRASE: PASSPHRASE, ...extra });
  const cli = async (label: string, args: string[], input?: string, extra?: Record<string, string | undefined>): Promise<CliResult> => {
    const result = await runCli(args, { env: env(extra), ...(input === undefined ? {} : { input }) });
    outputs[`${label} stdout`] = result.stdout;
    outputs[`${label} stderr`] = result.stderr;
    return result;
  };
  const vaultBytes = (): Buffer => fs.readFileSync(path.join(box.onecliHome, 'vault.onecli'));

  beforeAll(() => {
    box = makeSandbox();
  });
  afterAll(() => {
    // The invariant: the canary is nowhere but inside the encrypted vault.
    expect(findCanary(canary, outputs, [box.dir])).toEqual([]);
    box.cleanup();
  });

  it('init creates a 0600 vault in a 0700 folder and prints its description as JSON', async () => {
    const result = await cli('init', ['init', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      vault: {
        path: path.join(box.onecliHome, 'vault.onecli'),
        id: expect.stringMatching(/^[0-9a-f]{32}$/),
        master: 'passphrase',
        kdf: { algorithm: 'argon2id', memory_kib: 65536, iterations: 3, parallelism: 1 },
      },
    });
    expect(fs.statSync(box.onecliHome).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(box.onecliHome, 'vault.onecli')).mode & 0o777).toBe(0o600);
  });

  it('init refuses to overwrite the vault and leaves it byte for byte', async () => {
    const before = vaultBytes();
    const result = await cli('init again', ['init']);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/^onecli: error: a vault already exists at .*\nonecli: hint: /);
    expect(vaultBytes().equals(before)).toBe(true);
  });

  it('secret add takes a preset, reads the value from stdin, and prints metadata only', async () => {
    const result = await cli('add stripe', ['secret', 'add', 'stripe', '--json'], `${canary}\n`);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      secret: {
        name: 'stripe',
        hosts: ['api.stripe.com', 'files.stripe.com'],
        paths: [],
        injection: { type: 'header', header: 'Authorization', template: 'Bearer {value}' },
        env: 'STRIPE_API_KEY',
        allow_http: false,
        preset: 'stripe',
        version: 1,
        created: expect.stringMatching(ISO),
        rotated: null,
      },
    });
  });

  it('secret add with flags of its own, overriding nothing but what was asked', async () => {
    const result = await cli('add custom', ['secret', 'add', 'billing', '--host', 'API.Billing.example.com', '--host', '*.billing.example.com', '--path', '/v1/*', '--query', 'api_key', '--env', 'BILLING_KEY', '--allow-http', '--json'], 'billing-value');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).secret).toMatchObject({
      name: 'billing',
      hosts: ['api.billing.example.com', '*.billing.example.com'],
      paths: ['/v1/*'],
      injection: { type: 'query', param: 'api_key' },
      env: 'BILLING_KEY',
      allow_http: true,
      preset: null,
    });
  });

  it('secret list shows both, sorted, without values', async () => {
    const json = await cli('list json', ['secret', 'list', '--json']);
    expect(json.code).toBe(0);
    const listed = JSON.parse(json.stdout) as { secrets: Array<{ name: string }> };
    expect(listed.secrets.map((s) => s.name)).toEqual(['billing', 'stripe']);
    const table = await cli('list', ['secret', 'list']);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+HOSTS\s+INJECTION\s+ENV\s+VERSION\s+CHANGED$/);
    expect(table.stdout).toContain('STRIPE_API_KEY');
  });

  it('secret show prints one secret and E_SECRET_NOT_FOUND for an unknown one', async () => {
    const shown = await cli('show', ['secret', 'show', 'stripe']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^name\s+stripe$/m);
    const missing = await cli('show missing', ['secret', 'show', 'nope', '--json']);
    expect(missing.code).toBe(10);
    expect(JSON.parse(missing.stdout)).toEqual({
      error: { code: 'E_SECRET_NOT_FOUND', message: 'no secret named "nope"', hints: ['see the names with `onecli secret list`'] },
    });
  });

  it.each([
    ['a duplicate name', ['secret', 'add', 'stripe'], 'x', 9, 'E_SECRET_EXISTS'],
    ['an empty value', ['secret', 'add', 'empty', '--host', 'api.example.com'], '\n', 11, 'E_EMPTY_VALUE'],
    ['a bad name', ['secret', 'add', 'Bad Name', '--host', 'api.example.com'], 'x', 12, 'E_BAD_NAME'],
    ['a bare *', ['secret', 'add', 'star', '--host', '*'], 'x', 13, 'E_BAD_PATTERN'],
    ['a public suffix wildcard', ['secret', 'add', 'couk', '--host', '*.co.uk'], 'x', 13, 'E_BAD_PATTERN'],
    ['a private public suffix', ['secret', 'add', 'ghio', '--host', '*.github.io'], 'x', 13, 'E_BAD_PATTERN'],
    ['a path without a slash', ['secret', 'add', 'p', '--host', 'api.example.com', '--path', 'v1/*'], 'x', 13, 'E_BAD_PATTERN'],
    ['a header template without {value}', ['secret', 'add', 'h', '--host', 'api.example.com', '--header', 'X-Key: static'], 'x', 13, 'E_BAD_PATTERN'],
    ['a reserved env var', ['secret', 'add', 'e', '--host', 'api.example.com', '--env', 'NODE_OPTIONS'], 'x', 13, 'E_BAD_PATTERN'],
    ['no host for an unknown provider', ['secret', 'add', 'mystery'], 'x', 2, 'E_USAGE'],
    ['an unknown flag', ['secret', 'add', 'x', '--value', 'leak'], 'x', 2, 'E_USAGE'],
  ])('refuses %s with a stable code and leaves the vault unchanged', async (label, args, input, exit, code) => {
    const before = vaultBytes();
    const human = await cli(`refuse ${label}`, args, input);
    expect(human.code).toBe(exit);
    expect(human.stderr).toMatch(/^onecli: error: .+\n(onecli: hint: .+\n)+$/);
    expect(human.stderr).not.toMatch(/\n\s+at /);
    const json = await cli(`refuse ${label} json`, [...args, '--json'], input);
    expect(json.code).toBe(exit);
    expect(JSON.parse(json.stdout).error.code).toBe(code);
    expect(vaultBytes().equals(before)).toBe(true);
  });

  it('refuses a wrong passphrase with E_VAULT_CORRUPT and no passphrase with E_BAD_PASSPHRASE, changing nothing', async () => {
    const before = vaultBytes();
    const wrong = await cli('wrong passphrase', ['secret', 'list'], undefined, { ONECLI_PASSPHRASE: 'wrong' });
    expect(wrong.code).toBe(5);
    expect(wrong.stderr).toContain('onecli: error: cannot decrypt the vault');
    const none = await cli('no passphrase', ['secret', 'add', 'x', '--host', 'api.example.com', '--json'], 'v', { ONECLI_PASSPHRASE: undefined });
    expect(none.code).toBe(5);
    expect(JSON.parse(none.stdout).error.code).toBe('E_BAD_PASSPHRASE');
    expect(vaultBytes().equals(before)).toBe(true);
  });

  it('rotate NAME bumps the version and records the time', async () => {
    const result = await cli('rotate', ['rotate', 'stripe', '--json'], `${canary}-v2`);
    expect(result.code).toBe(0);
    const secret = JSON.parse(result.stdout).secret;
    expect(secret.version).toBe(2);
    expect(secret.rotated).toMatch(ISO);
  });

  it('rotate --master re-encrypts under a new passphrase; the old one stops working', async () => {
    const before = vaultBytes();
    const result = await cli('rotate master', ['rotate', '--master', '--json'], undefined, { ONECLI_NEW_PASSPHRASE: 'a new passphrase' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).vault.master).toBe('passphrase');
    expect(vaultBytes().equals(before)).toBe(false);
    const old = await cli('old passphrase', ['secret', 'list'], undefined);
    expect(old.code).toBe(5);
    const fresh = await cli('new passphrase', ['secret', 'list', '--json'], undefined, { ONECLI_PASSPHRASE: 'a new passphrase' });
    expect(fresh.code).toBe(0);
    expect(JSON.parse(fresh.stdout).secrets.map((s: { name: string }) => s.name)).toEqual(['billing', 'stripe']);
  });

  it('secret rm removes it; a second rm is E_SECRET_NOT_FOUND', async () => {
    const extra = { ONECLI_PASSPHRASE: 'a new passphrase' };
    const removed = await cli('rm', ['secret', 'rm', 'billing', '--json'], undefined, extra);
    expect(removed.code).toBe(0);
    expect(JSON.parse(removed.stdout)).toEqual({ removed: 'billing' });
    const again = await cli('rm again', ['secret', 'rm', 'billing'], undefined, extra);
    expect(again.code).toBe(10);
  });

  it('secret add --list-presets lists at least 12 providers with their auth schemes', async () => {
    const result = await cli('presets', ['secret', 'add', '--list-presets', '--json']);
    expect(result.code).toBe(0);
    const presets = JSON.parse(result.stdout).presets as Array<{ name: string; header: string }>;
    expect(presets.length).toBeGreaterThanOrEqual(12);
    const byName = Object.fromEntries(presets.map((p) => [p.name, p.header]));
    expect(byName).toMatchObject({
      stripe: 'Authorization: Bearer {value}',
      anthropic: 'x-api-key: {value}',
      mailgun: 'Authorization: Basic {basic:api}',
      twilio: 'Authorization: Basic {basic}',
    });
  });

  it('doctor reports the vault, its permissions, and flags a vault others can read', async () => {
    const ok = await cli('doctor', ['doctor', '--json']);
    const report = JSON.parse(ok.stdout) as { ok: boolean; checks: Array<{ name: string; status: string }> };
    expect(report.checks.find((c) => c.name === 'vault')?.status).toBe('ok');
    expect(report.checks.some((c) => c.name.startsWith('runtime '))).toBe(true);
    const file = path.join(box.onecliHome, 'vault.onecli');
    fs.chmodSync(file, 0o644);
    try {
      const loose = await cli('doctor loose', ['doctor', '--json']);
      expect(loose.code).toBe(1);
      expect(JSON.parse(loose.stdout).checks.find((c: { name: string }) => c.name === `permissions ${file}`)?.status).toBe('fail');
      const refused = await cli('list loose', ['secret', 'list', '--json'], undefined, { ONECLI_PASSPHRASE: 'a new passphrase' });
      expect(JSON.parse(refused.stdout).error.code).toBe('E_VAULT_PERMISSIONS');
    } finally {
      fs.chmodSync(file, 0o600);
    }
  });

  it('every command has --help with examples', async () => {
    for (const command of [['init'], ['secret', 'add'], ['secret', 'list'], ['secret', 'show'], ['secret', 'rm'], ['rotate'], ['doctor'], ['run'], ['audit', 'tail'], ['audit', 'verify']]) {
      const result = await cli(`help ${command.join(' ')}`, [...command, '--help']);
      expect(result.code, command.join(' ')).toBe(0);
      expect(result.stdout, command.join(' ')).toMatch(/EXAMPLES/);
    }
  });
});

describe('commands without a vault', () => {
  it('say E_VAULT_NOT_FOUND with a hint to run init', async () => {
    const box = makeSandbox();
    try {
      const result = await runCli(['secret', 'list'], { env: box.env({ ONECLI_PASSPHRASE: 'x' }) });
      expect(result.code).toBe(3);
      expect(result.stderr).toContain('onecli: hint: run `onecli init`');
      expect(fs.existsSync(path.join(box.onecliHome, 'vault.onecli'))).toBe(false);
    } finally {
      box.cleanup();
    }
  });
});
