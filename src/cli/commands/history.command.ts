import { Option, type Command } from 'commander';
import { csvHeader, csvRecord, ndjsonLine } from '../../query/export-format';
import { withStore, type CliContext } from '../cli-context';
import { timelineStep } from '../output/event-text';
import { colorEnabled, painter, sanitize } from '../output/terminal';
import { writeChunk } from '../output/write';

const EXAMPLES = `
Examples:
  $ nestjs-audit history user 42
  $ nestjs-audit history order 2026-0042 --format ndjson | jq -c '.changes.diff'`;

/** Registers `history <type> <id>`: the timeline of one resource, oldest first. */
export function registerHistoryCommand(program: Command, context: CliContext): Command {
  return program
    .command('history')
    .description('Show the timeline of one resource, oldest first, with the changes of each step.')
    .argument('<type>', 'resource type, e.g. user')
    .argument('<id>', 'resource id, e.g. 42')
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(['text', 'json', 'ndjson', 'csv'])
        .default('text'),
    )
    .addHelpText('after', EXAMPLES)
    .action(async (type: string, id: string, options: { format: string }, self: Command) => {
      const { io } = context;
      await withStore(self, async ({ store }) => {
        const events = await store.history(type, id);
        const resource = sanitize(`${type}:${id}`);
        let out: string;
        if (options.format === 'json') out = `${JSON.stringify(events, null, 2)}\n`;
        else if (options.format === 'ndjson') out = events.map(ndjsonLine).join('');
        else if (options.format === 'csv') out = csvHeader() + events.map(csvRecord).join('');
        else if (events.length === 0) {
          out = '';
          io.stderr.write(`No events on ${resource}.\n`);
        } else {
          const paint = painter(colorEnabled(io.stdout, io.env));
          const title = paint(
            'bold',
            `History of ${resource}: ${events.length} event${events.length === 1 ? '' : 's'}, oldest first`,
          );
          out = `${title}\n\n${events.map((event) => timelineStep(event, paint)).join('\n')}`;
        }
        await writeChunk(io.stdout, out);
      });
    });
}
