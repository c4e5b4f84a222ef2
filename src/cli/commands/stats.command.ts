import { InvalidArgumentError, Option, type Command } from 'commander';
import { collectAuditStats, type AuditStats, type AuditStatsCount } from '../../query/audit-stats';
import { withStore, type CliContext } from '../cli-context';
import { addFilterOptions, queryFromOptions } from '../filter-options';
import { outcomeStyle } from '../output/event-text';
import { renderTable, type TableColumn } from '../output/table';
import { colorEnabled, outputWidth, painter, type CliIo } from '../output/terminal';
import { writeChunk } from '../output/write';

const EXAMPLES = `
Examples:
  $ nestjs-audit stats
  $ nestjs-audit stats --since 7d --outcome failure
  $ nestjs-audit stats --from 2026-03-01 --to 2026-04-01 --tenant acme --format json
  $ nestjs-audit stats --since 30d --resource user --top 0`;

const DEFAULT_PERIOD = '24h';

function topOption(value: string): number {
  if (!/^\d{1,6}$/.test(value)) throw new InvalidArgumentError('Use a whole number, 0 for all.');
  return Number(value);
}

interface StatsOptions {
  top: number;
  format: 'table' | 'json';
  since?: string;
  from?: string;
  to?: string;
  [filter: string]: unknown;
}

/** Registers `stats`: counts by action, by actor and by outcome over a period. */
export function registerStatsCommand(program: Command, context: CliContext): Command {
  const command = program
    .command('stats')
    .description(
      `Count the events of a period by outcome, action and actor (the last ${DEFAULT_PERIOD} unless --since, --from or --to is given).`,
    )
    .option(
      '--top <n>',
      'rows per group in the table, 0 for all (json always has all)',
      topOption,
      20,
    )
    .addOption(
      new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'),
    );
  addFilterOptions(command, {
    sinceDescription: `only the last period: 30m, 24h, 7d, 2w (default: ${DEFAULT_PERIOD} when neither --from nor --to is given)`,
  });
  command.addHelpText('after', EXAMPLES);
  command.action(async (options: StatsOptions, self: Command) => {
    const { io } = context;
    const unbounded =
      options.since === undefined && options.from === undefined && options.to === undefined;
    const query = queryFromOptions(
      unbounded ? { ...options, since: DEFAULT_PERIOD } : options,
      context.now(),
    );
    await withStore(self, async ({ store }) => {
      const stats = await collectAuditStats(store, query);
      const period = {
        from: query.fromMs === undefined ? null : new Date(query.fromMs).toISOString(),
        to: query.toMs === undefined ? null : new Date(query.toMs).toISOString(),
      };
      const text =
        options.format === 'json'
          ? statsJson(stats, period)
          : statsTables(stats, period, options.top, io);
      await writeChunk(io.stdout, text);
    });
  });
  return command;
}

/** The period counted, as ISO timestamps; `null` for an open end. */
interface StatsPeriod {
  from: string | null;
  to: string | null;
}

/** `--format json`: every count, each group named by what it counts. */
function statsJson(stats: AuditStats, { from, to }: StatsPeriod): string {
  const named = (name: string, counts: AuditStatsCount[]) =>
    counts.map(({ key, count }) => ({ [name]: key, count }));
  const doc = {
    from,
    to,
    total: stats.total,
    byOutcome: named('outcome', stats.byOutcome),
    byAction: named('action', stats.byAction),
    byActor: named('actor', stats.byActor),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** `--format table`: the total, then one table per group, each cut to `top` rows. */
function statsTables(stats: AuditStats, { from, to }: StatsPeriod, top: number, io: CliIo): string {
  const paint = painter(colorEnabled(io.stdout, io.env));
  const width = outputWidth(io.stdout, io.env);
  const period = `${from ?? 'the first event'} to ${to ?? 'now'}`;
  const parts = [
    paint('bold', `${stats.total} event${stats.total === 1 ? '' : 's'} from ${period}`),
    '',
  ];
  const group = (
    title: string,
    noun: string,
    counts: AuditStatsCount[],
    style?: TableColumn['style'],
  ) => {
    const shown = top === 0 ? counts : counts.slice(0, top);
    const columns: TableColumn[] = [
      { header: title, minWidth: 12, style },
      { header: 'EVENTS', shrink: false, align: 'right' },
      { header: 'SHARE', shrink: false, align: 'right' },
    ];
    const rows = shown.map(({ key, count }) => [
      key,
      String(count),
      `${((100 * count) / Math.max(1, stats.total)).toFixed(1)}%`,
    ]);
    parts.push(renderTable(columns, rows, { width, paint }).trimEnd());
    if (shown.length < counts.length) {
      parts.push(
        paint(
          'dim',
          `… and ${counts.length - shown.length} more ${noun}${counts.length - shown.length === 1 ? '' : 's'} (--top 0 shows all)`,
        ),
      );
    }
    parts.push('');
  };
  if (stats.total > 0) {
    group('OUTCOME', 'outcome', stats.byOutcome, outcomeStyle);
    group('ACTION', 'action', stats.byAction);
    group('ACTOR', 'actor', stats.byActor);
  }
  return `${parts.join('\n').trimEnd()}\n`;
}
