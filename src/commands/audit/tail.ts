import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { colorFor } from '../../cli/output.js';
import { DECISIONS, type AuditLine } from '../../audit/event.js';
import { formatFollowHeader, formatFollowRow, formatTable } from '../../audit/format.js';
import { followAudit, parseSince, tailAudit, type AuditFilter } from '../../audit/reader.js';

export default class AuditTail extends BaseCommand {
  static override summary = 'Show the newest audit events; -f follows the log live.';
  static override description = 'Reads the log backwards from its end (never the whole log), across rolled files. No vault key needed: tail shows, `onecli audit verify` proves.';
  static override examples = [
    '<%= config.bin %> audit tail',
    '<%= config.bin %> audit tail -n 100 --secret stripe --decision injected',
    '<%= config.bin %> audit tail -f --host api.openai.com',
    '<%= config.bin %> audit tail --since 10m --json | jq .path',
  ];

  static override flags = {
    lines: Flags.integer({ char: 'n', description: 'How many events to show.', default: 20, min: 0 }),
    follow: Flags.boolean({ char: 'f', description: 'Keep printing new events as they are written (Ctrl-C ends).', default: false }),
    session: Flags.string({ description: 'Only this session (an id or its first characters).' }),
    secret: Flags.string({ description: 'Only events that involve this secret.' }),
    host: Flags.string({ description: 'Only requests to this host.' }),
    decision: Flags.string({ description: 'Only requests with this decision.', options: [...DECISIONS] }),
    since: Flags.string({ description: 'Only events since a duration ago (30s, 10m, 2h, 1d) or an ISO date.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(AuditTail);
    const filter: AuditFilter = {};
    if (flags.session !== undefined) filter.session = flags.session;
    if (flags.secret !== undefined) filter.secret = flags.secret;
    if (flags.host !== undefined) filter.host = flags.host;
    if (flags.decision !== undefined) filter.decision = DECISIONS.find((d) => d === flags.decision)!;
    if (flags.since !== undefined) filter.since = parseSince(flags.since);

    const color = { color: colorFor(process.stdout).level > 0 };
    const print = (line: AuditLine): void => this.log(flags.json ? JSON.stringify(line) : formatFollowRow(line, color));
    const { events, position } = tailAudit(this.home, flags.lines, filter);
    if (flags.json) for (const line of events) print(line);
    else if (flags.follow) {
      this.log(formatFollowHeader(color));
      for (const line of events) print(line);
    } else if (events.length > 0) for (const row of formatTable(events, color)) this.log(row);
    else this.logToStderr('No audit events match.');
    if (!flags.follow) return;

    await new Promise<void>((resolve, reject) => {
      const follower = followAudit(this.home, {
        filter,
        start: position,
        onEvent: print,
        onError: (err) => {
          finish();
          reject(err instanceof Error ? err : new Error('the audit log could not be followed'));
        },
      });
      const finish = (): void => {
        follower.stop();
        process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      };
      // Ctrl-C ends a follow cleanly: exit 0, like tail -f.
      const onSignal = (): void => {
        finish();
        resolve();
      };
      process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
    });
  }
}
