import { Args, Flags } from '@oclif/core';
import { recordChange } from '../../cli/audit-note.js';
import { BaseCommand } from '../../cli/base-command.js';
import { readSecretValue } from '../../cli/input.js';
import { formatTable, withSpinner } from '../../cli/output.js';
import { describeInjection, secretView } from '../../cli/views.js';
import { OnecliError } from '../../errors.js';
import { listPresets } from '../../policy/presets.js';
import { buildSecretRules } from '../../policy/secret-spec.js';
import { redact, type SecretRecord } from '../../vault/secret.js';
import { updateVault } from '../../vault/store.js';

export default class SecretAdd extends BaseCommand {
  static override summary = 'Store a secret and the rules for where it may be sent.';
  static override description = `The value is read from stdin when stdin is not a terminal (one trailing newline is stripped), else from a hidden prompt. It is never taken from the command line. A known provider name (see --list-presets) fills in the host, header and environment variable; flags override it.`;
  static override examples = [
    { description: 'A known provider: host, header and env var come from the preset', command: 'printf %s "$STRIPE_KEY" | <%= config.bin %> secret add stripe' },
    { description: 'Your own API, typed at a hidden prompt', command: "<%= config.bin %> secret add billing --host api.billing.example.com --header 'X-Api-Key: {value}' --env BILLING_KEY" },
    { description: 'Only some paths, key in a query parameter', command: "<%= config.bin %> secret add maps --host maps.example.com --path '/v1/*' --query key" },
    { description: 'Show the known providers', command: '<%= config.bin %> secret add --list-presets' },
  ];
  static override args = { name: Args.string({ description: 'Secret name: 1-64 of a-z 0-9 _ -', required: false }) };
  static override flags = {
    host: Flags.string({ description: 'Host it may be sent to: exact or one leading wildcard (*.example.com). Repeatable.', multiple: true }),
    path: Flags.string({ description: "Path glob it may be sent to, e.g. '/v1/*'. Repeatable. Default: every path.", multiple: true }),
    header: Flags.string({ description: "How it is sent: 'Header-Name: template {value}'. Default: 'Authorization: Bearer {value}'." }),
    query: Flags.string({ description: 'Send it as this query parameter instead of a header.' }),
    env: Flags.string({ description: 'Environment variable that holds the placeholder in `onecli run`.' }),
    'allow-http': Flags.boolean({ description: 'Also inject into plain http:// requests (off: only HTTPS).', default: false }),
    'list-presets': Flags.boolean({ description: 'List the known providers and exit.', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SecretAdd);
    if (flags['list-presets']) return this.listPresets(flags.json);
    if (args.name === undefined) throw new OnecliError('E_USAGE', 'missing the secret NAME', 'e.g. `onecli secret add stripe`');
    const rules = buildSecretRules({ name: args.name, hosts: flags.host, paths: flags.path, header: flags.header, query: flags.query, env: flags.env, allowHttp: flags['allow-http'] || undefined });
    const value = await readSecretValue(rules.name);
    const { secret, auditKey } = await withSpinner('Unlocking the vault…', () =>
      updateVault({ home: this.home, passphrase: this.passphrase() }, (contents) => {
        if (contents.secrets.some((s) => s.name === rules.name)) {
          throw new OnecliError('E_SECRET_EXISTS', `a secret named ${JSON.stringify(rules.name)} already exists`, [
            `use \`onecli rotate ${rules.name}\` to change its value, or \`onecli secret rm ${rules.name}\` first`,
          ]);
        }
        const record: SecretRecord = { ...rules, value, version: 1, created: new Date().toISOString(), rotated: null };
        contents.secrets.push(record);
        return { secret: redact(record), auditKey: contents.auditKey };
      }),
    );
    recordChange(this, auditKey, { event: 'secret.add', secret: secret.name, version: secret.version });
    if (flags.json) return this.printJson({ secret: secretView(secret) });
    this.logToStderr(`Added ${JSON.stringify(secret.name)}: ${describeInjection(secret)} → ${secret.hosts.join(', ')}${secret.env ? `; placeholder in $${secret.env}` : ''}.`);
  }

  private listPresets(json: boolean): void {
    const presets = listPresets();
    if (json) return this.printJson({ presets });
    const rows = presets.map((p) => [p.name, p.hosts.join(','), p.header.replace(/:.*/, ''), p.env]);
    for (const line of formatTable([['NAME', 'HOSTS', 'HEADER', 'ENV'], ...rows])) this.log(line);
  }
}
