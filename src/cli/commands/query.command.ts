import { Option, type Command } from 'commander';
import { csvHeader, csvRecord, ndjsonLine } from '../../query/export-format';
import { withStore, type CliContext } from '../cli-context';
import { addFilterOptions, queryFromOptions } from '../filter-options';
import { EVENT_TABLE_COLUMNS, eventRow } from '../output/event-text';
import { renderTable } from '../output/table';
import { colorEnabled, outputWidth, painter } from '../output/terminal';
import { writeChunk } from '../output/write';

/** Output formats of `query`. */
export const QUERY_FORMATS = ['table', 'json', 'ndjson', 'csv'] as const;

const EXAMPLES = `
Examples:
  $ nestjs-audit query --resource user:42 --since 7d
  $ nestjs-audit query --actor u-17 --action user.update --from 2026-03-03 --to 2026-03-04
  $ nestjs-audit query --outcome failure --limit 200 --format csv > failures.csv
  $ nestjs-audit query --request-id 5f0c2a --format json
  $ nestjs-audit query --since 24h --cursor eyJ0cyI6...   (the next page, as printed)
  $ nestjs-audit --pg postgres://audit@db/app query --tenant acme`;

/** Registers `query`: one page of events matching the filters, newest first. */
export function registerQueryCommand(program: Command, context: CliContext): Command {
  const command = program
    .command('query')
    .description('List the events matching the filters, newest first, one page at a time.')
    .addOption(
      new Option('--format <format>', 'output format').choices(QUERY_FORMATS).default('table'),
    );
  addFilterOptions(command, { limit: true, cursor: true });
  command.addHelpText('after', EXAMPLES);
  command.action(async (options: Record<string, unknown>, self: Command) => {
    const { io } = context;
    const query = queryFromOptions(options, context.now());
    const format = options.format as (typeof QUERY_FORMATS)[number];
    await withStore(self, async ({ store }) => {
      const page = await store.query(query);
      let out: string;
      if (format === 'json') {
        out = `${JSON.stringify({ items: page.items, nextCursor: page.nextCursor }, null, 2)}\n`;
      } else if (format === 'ndjson') {
        out = page.items.map(ndjsonLine).join('');
      } else if (format === 'csv') {
        out = csvHeader() + page.items.map(csvRecord).join('');
      } else if (page.items.length === 0) {
        out = '';
        io.stderr.write('No events match these filters.\n');
      } else {
        out = renderTable(EVENT_TABLE_COLUMNS, page.items.map(eventRow), {
          width: outputWidth(io.stdout, io.env),
          paint: painter(colorEnabled(io.stdout, io.env)),
        });
      }
      await writeChunk(io.stdout, out);
      if (page.nextCursor !== undefined && format !== 'json') {
        // On stderr, so that stdout holds only the results and can be piped or redirected.
        io.stderr.write(
          `More events match: run the same command with --cursor ${page.nextCursor} for the next page.\n`,
        );
      }
    });
  });
  return command;
}
