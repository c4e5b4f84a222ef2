import { DEFAULT_FILE_MODE } from '../../common/file-mode';
import { SingleBar } from 'cli-progress';
import { Option, type Command } from 'commander';
import { createWriteStream, renameSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { decodeCursor, MAX_QUERY_LIMIT, type NormalizedAuditQuery } from '../../query/audit-query';
import { csvHeader, csvRecord, ndjsonLine } from '../../query/export-format';
import type { AuditStore } from '../../stores/audit-store';
import { reasonOf } from '../../common/message-of';
import { CliError, EXIT_INTERRUPTED } from '../cli-error';
import { withStore, type CliContext } from '../cli-context';
import { addFilterOptions, queryFromOptions } from '../filter-options';
import type { CliIo } from '../output/terminal';
import { writeChunk } from '../output/write';

/** Formats of `export`. */
export const EXPORT_FORMATS = ['ndjson', 'csv'] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number];

const EXAMPLES = `
Events are written newest first (the order the stores page in); sort by the timestamp
column or field for another order.

Examples:
  $ nestjs-audit export --out audit-march.csv --from 2026-03-01 --to 2026-04-01
  $ nestjs-audit export --since 7d --actor u-17 --out u-17.ndjson
  $ nestjs-audit export --resource user:42 --format csv > user-42.csv
  $ nestjs-audit export --outcome failure | gzip > failures.ndjson.gz`;

/** The format a file name asks for: `.csv` is CSV, anything else NDJSON. */
export function formatOfFile(file: string | undefined): ExportFormat {
  return file !== undefined && extname(file).toLowerCase() === '.csv' ? 'csv' : 'ndjson';
}

interface ExportOptions {
  out?: string;
  format?: ExportFormat;
  [filter: string]: unknown;
}

/** Where the export goes, and how to finish or abandon it. */
interface Destination {
  stream: NodeJS.WritableStream;
  /** Flushes and, for a file, moves the finished file into place. */
  commit(): Promise<void>;
  /** Stops writing and removes the unfinished file. */
  abandon(): void;
}

function isSpecialFile(path: string): boolean {
  try {
    return !statSync(path).isFile();
  } catch {
    return false;
  }
}

function waitForOpen(stream: WriteStream, shown: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (error) =>
      reject(
        new CliError(
          `cannot write "${shown}": ${reasonOf(error)} — check that its directory exists and that you may write there.`,
          undefined,
          { cause: error },
        ),
      ),
    );
  });
}

function finish(stream: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.once('close', () => resolve());
    stream.end();
  });
}

/**
 * A file is written under a temporary name beside it and renamed when complete, so the name
 * never holds a partial export (a failure or Ctrl-C leaves the previous file, or nothing).
 */
async function openDestination(io: CliIo, out: string | undefined): Promise<Destination> {
  if (out === undefined || out === '-') {
    return { stream: io.stdout, commit: () => Promise.resolve(), abandon: () => undefined };
  }
  const direct = isSpecialFile(out);
  const path = direct ? out : join(dirname(out), `.${basename(out)}.${process.pid}.part`);
  // The owner's alone, like every file of the trail (see "File permissions" in the README).
  const stream = createWriteStream(path, { flags: direct ? 'w' : 'wx', mode: DEFAULT_FILE_MODE });
  await waitForOpen(stream, out);
  return {
    stream,
    commit: async () => {
      await finish(stream);
      if (!direct) renameSync(path, out);
    },
    abandon: () => {
      stream.destroy();
      if (!direct) rmSync(path, { force: true });
    },
  };
}

/** How far an export has gone, shown while it runs. */
interface ExportProgress {
  update(events: number, oldestTs: number | undefined): void;
  stop(): void;
}

/** A progress bar on stderr, or nothing when stderr is not a terminal. */
function progressBar(
  io: CliIo,
  enabled: boolean,
  span: { fromMs?: number; toMs: number },
): ExportProgress | undefined {
  if (!enabled) return undefined;
  const bounded = span.fromMs !== undefined && span.toMs > span.fromMs;
  const bar = new SingleBar({
    stream: io.stderr,
    format: bounded
      ? 'Exporting [{bar}] {percentage}% | {events} events | back to {reached} | {duration_formatted}'
      : 'Exporting {events} events | back to {reached} | {duration_formatted}',
    hideCursor: true,
    clearOnComplete: true,
    gracefulExit: false,
    fps: 5,
  });
  // Newest first: progress is how far the pages have moved back from the end of the period.
  const total = bounded ? span.toMs - (span.fromMs as number) : 1;
  bar.start(total, 0, { events: 0, reached: '…' });
  return {
    update(events: number, oldestTs: number | undefined) {
      const done = bounded && oldestTs !== undefined ? Math.min(total, span.toMs - oldestTs) : 0;
      const reached =
        oldestTs === undefined ? '…' : `${new Date(oldestTs).toISOString().slice(0, 19)}Z`;
      bar.update(done, { events, reached });
    },
    stop() {
      bar.stop();
    },
  };
}

/** Registers `export`: every matching event to a file or stdout, as NDJSON or CSV. */
export function registerExportCommand(program: Command, context: CliContext): Command {
  const command = program
    .command('export')
    .description(
      'Write every event matching the filters, newest first, as NDJSON or CSV, to a file or stdout. Streams page by page: memory stays small whatever the number of events.',
    )
    .option('-o, --out <file>', 'file to write; stdout when omitted or "-"')
    .addOption(
      new Option(
        '--format <format>',
        'ndjson (one JSON event per line) or csv; default: from the --out extension (.csv), else ndjson',
      ).choices(EXPORT_FORMATS),
    );
  addFilterOptions(command);
  command.addHelpText('after', EXAMPLES);
  command.action((options: ExportOptions, self: Command) => runExport(context, options, self));
  return command;
}

async function runExport(
  context: CliContext,
  options: ExportOptions,
  self: Command,
): Promise<void> {
  const { io } = context;
  const startedAt = context.now();
  const query = queryFromOptions(options, startedAt, { limit: MAX_QUERY_LIMIT });
  const format = options.format ?? formatOfFile(options.out);
  const toFile = options.out !== undefined && options.out !== '-';
  const shown = toFile ? (options.out as string) : 'stdout';
  const signal = context.interruptible();
  const interrupted = (written: number) =>
    new CliError(
      toFile
        ? `export interrupted after ${written} events — "${shown}" was not written; run the command again.`
        : `export interrupted after ${written} events — the output is incomplete.`,
      EXIT_INTERRUPTED,
    );
  await withStore(self, async ({ store }) => {
    const destination = await openDestination(io, options.out);
    const progress = progressBar(io, toFile && io.stderr.isTTY === true, {
      fromMs: query.fromMs,
      toMs: query.toMs ?? startedAt,
    });
    let written: number;
    try {
      written = await writePages(store, query, destination.stream, format, {
        stopped: (count) => (signal.aborted ? interrupted(count) : undefined),
        progress,
      });
      await destination.commit();
    } catch (error) {
      destination.abandon();
      throw error;
    } finally {
      progress?.stop();
    }
    io.stderr.write(
      `Exported ${written} event${written === 1 ? '' : 's'} (${format}, newest first) to ${shown}.\n`,
    );
  });
}

/**
 * Writes every page of the query, newest first.
 * @returns how many events were written.
 * @throws the error `stopped` returns, checked before each page.
 */
async function writePages(
  store: AuditStore,
  query: NormalizedAuditQuery,
  out: NodeJS.WritableStream,
  format: ExportFormat,
  hooks: { stopped: (written: number) => Error | undefined; progress?: ExportProgress },
): Promise<number> {
  let written = 0;
  if (format === 'csv') await writeChunk(out, csvHeader());
  const line = format === 'csv' ? csvRecord : ndjsonLine;
  for (;;) {
    const stop = hooks.stopped(written);
    if (stop !== undefined) throw stop;
    const page = await store.query(query);
    // One write per page: few system calls, and at most one page is ever held in memory.
    await writeChunk(out, page.items.map(line).join(''));
    written += page.items.length;
    const last = page.items[page.items.length - 1];
    hooks.progress?.update(written, last === undefined ? undefined : Date.parse(last.timestamp));
    if (page.nextCursor === undefined) return written;
    query.before = decodeCursor(page.nextCursor);
  }
}
