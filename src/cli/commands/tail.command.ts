import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration, DurationError } from '../../common/duration';
import type { AuditEvent } from '../../event/audit-event';
import { ndjsonLine } from '../../query/export-format';
import { reasonOf } from '../../common/message-of';
import { withStore, type CliContext } from '../cli-context';
import { EventFollower } from '../event-follower';
import { addFilterOptions, queryFromOptions } from '../filter-options';
import { EVENT_TABLE_COLUMNS, eventRow } from '../output/event-text';
import { fitColumnWidths, formatRow } from '../output/table';
import { colorEnabled, outputWidth, painter, type Paint } from '../output/terminal';
import { writeChunk } from '../output/write';

const EXAMPLES = `
Examples:
  $ nestjs-audit tail
  $ nestjs-audit tail -n 50 --action user.delete
  $ nestjs-audit tail -f --resource user:42
  $ nestjs-audit tail -f -n 0 --interval 5s --format ndjson | jq -c '{actor: .actor.id, action}'`;

/** Most events `tail` shows at start (the largest page a store returns). */
const MAX_COUNT = 1000;
/** Widths the text lines of `tail` never exceed, in the order of EVENT_TABLE_COLUMNS. */
const STREAM_WIDTHS = [20, 24, 24, 20, 7, 30, 36];

function countOption(value: string): number {
  if (!/^\d{1,4}$/.test(value) || Number(value) > MAX_COUNT) {
    throw new InvalidArgumentError(`Use a whole number from 0 to ${MAX_COUNT}.`);
  }
  return Number(value);
}

function durationOption(name: string, minimumMs: number) {
  return (value: string): number => {
    let ms: number;
    try {
      ms = parseDuration(value, name);
    } catch (error) {
      if (error instanceof DurationError) throw new InvalidArgumentError(error.message);
      throw error;
    }
    if (ms < minimumMs) throw new InvalidArgumentError(`Use at least ${minimumMs} ms.`);
    return ms;
  };
}

/** Resolves after `ms`, or as soon as `signal` is aborted. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

interface TailOptions {
  count: number;
  follow?: boolean;
  interval: number;
  lookback: number;
  format: 'text' | 'ndjson';
  [filter: string]: unknown;
}

/** Registers `tail`: the latest events, and with `--follow` the new ones as they are committed. */
export function registerTailCommand(program: Command, context: CliContext): Command {
  const command = program
    .command('tail')
    .description(
      'Show the latest events, oldest first; with --follow, keep printing new events as they are committed.',
    )
    .option(
      '-n, --count <n>',
      `how many of the latest events to show first, 0 to ${MAX_COUNT}`,
      countOption,
      20,
    )
    .option(
      '-f, --follow',
      'keep running and print new events as they are committed (stop with Ctrl-C)',
    )
    .option(
      '--interval <duration>',
      'with --follow, how often to look for new events, e.g. 500ms, 2s',
      durationOption('--interval', 50),
      1_000,
    )
    .option(
      '--lookback <duration>',
      'with --follow, how late an event may be committed after its own timestamp and still be shown',
      durationOption('--lookback', 1),
      30_000,
    )
    .addOption(
      new Option('--format <format>', 'output format').choices(['text', 'ndjson']).default('text'),
    );
  addFilterOptions(command);
  command.addHelpText('after', EXAMPLES);
  command.action(async (options: TailOptions, self: Command) => {
    const { io } = context;
    const query = queryFromOptions(options, context.now());
    const signal = options.follow ? context.interruptible() : new AbortController().signal;
    const paint = painter(colorEnabled(io.stdout, io.env));
    const widths = fitColumnWidths(
      STREAM_WIDTHS,
      EVENT_TABLE_COLUMNS.map((column) => column.minWidth ?? 8),
      EVENT_TABLE_COLUMNS.map((column) => column.shrink !== false),
      outputWidth(io.stdout, io.env),
    );
    const print = (events: readonly AuditEvent[]) =>
      writeChunk(io.stdout, render(events, options.format, widths, paint));

    await withStore(self, async ({ store }) => {
      const follower = new EventFollower(store, { query, lookbackMs: options.lookback });
      const first = await follower.start(options.count, context.now());
      if (options.format === 'text' && (first.length > 0 || options.follow)) {
        await writeChunk(io.stdout, `${formatRow(EVENT_TABLE_COLUMNS, widths, [], paint, true)}\n`);
      }
      await print(first);
      if (options.follow) await followNewEvents(follower, options.interval, signal, context, print);
    });
  });
  return command;
}

/**
 * Polls for new events every `intervalMs` and prints them, until `signal` is aborted. A failing
 * read is reported once and retried: a database restarting or busy for a moment must not end a
 * long-running tail.
 */
async function followNewEvents(
  follower: EventFollower,
  intervalMs: number,
  signal: AbortSignal,
  context: CliContext,
  print: (events: readonly AuditEvent[]) => Promise<void>,
): Promise<void> {
  const { io } = context;
  let failing = false;
  while (!signal.aborted) {
    await pause(intervalMs, signal);
    if (signal.aborted) break;
    let fresh: AuditEvent[];
    try {
      fresh = await follower.poll(context.now());
    } catch (error) {
      if (!failing) {
        io.stderr.write(
          `nestjs-audit: ${reasonOf(error).split('\n', 1)[0]} — retrying every ${intervalMs} ms (Ctrl-C to stop).\n`,
        );
      }
      failing = true;
      continue;
    }
    if (failing) io.stderr.write('nestjs-audit: reading again.\n');
    failing = false;
    await print(fresh);
  }
}

function render(
  events: readonly AuditEvent[],
  format: 'text' | 'ndjson',
  widths: readonly number[],
  paint: Paint,
): string {
  if (format === 'ndjson') return events.map(ndjsonLine).join('');
  return events
    .map((event) => `${formatRow(EVENT_TABLE_COLUMNS, widths, eventRow(event), paint)}\n`)
    .join('');
}
