import { Option, type Command } from 'commander';
import { CliError } from '../cli-error';
import { withStore, type CliContext } from '../cli-context';
import { eventDetails } from '../output/event-text';
import { colorEnabled, painter, sanitize } from '../output/terminal';
import { writeChunk } from '../output/write';

const EXAMPLES = `
Examples:
  $ nestjs-audit show 0195a3c4-7d1e-7b6a-9c1f-3e2d4b5a6c7d
  $ nestjs-audit show 0195a3c4-7d1e-7b6a-9c1f-3e2d4b5a6c7d --format json | jq .changes`;

/** Registers `show <id>`: one event with its facts and its before/after diff. */
export function registerShowCommand(program: Command, context: CliContext): Command {
  return program
    .command('show')
    .description('Show one event: who, when, from where, which request, and what changed.')
    .argument('<id>', 'event id (the ID column of query, tail and history)')
    .addOption(
      new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'),
    )
    .addHelpText('after', EXAMPLES)
    .action(async (id: string, options: { format: 'text' | 'json' }, self: Command) => {
      const { io } = context;
      await withStore(self, async ({ store, label }) => {
        const event = await store.get(id);
        if (event === undefined) {
          throw new CliError(
            `no event with id "${sanitize(id.slice(0, 80))}" in ${label} — copy the id from the ID column of query, tail or history, and check that --db / --pg point at the right database.`,
          );
        }
        const out =
          options.format === 'json'
            ? `${JSON.stringify(event, null, 2)}\n`
            : eventDetails(event, painter(colorEnabled(io.stdout, io.env)));
        await writeChunk(io.stdout, out);
      });
    });
}
