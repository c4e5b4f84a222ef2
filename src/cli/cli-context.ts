import type { Command } from 'commander';
import { openStore, selectStore, type OpenedStore } from './store-opener';
import type { CliIo } from './output/terminal';

/**
 * What every command receives besides its own options: the streams, the clock, and the way to
 * take over SIGINT / SIGTERM.
 */
export interface CliContext {
  /** Streams and environment. */
  io: CliIo;
  /** Current time in epoch milliseconds (filters such as `--since` are relative to it). */
  now: () => number;
  /**
   * Called by a command that stops cleanly on SIGINT / SIGTERM (`tail -f`, `export`). Returns
   * a signal aborted on the first interruption; a command that never calls it is simply ended.
   */
  interruptible: () => AbortSignal;
}

/** The global options (`--db`, `--pg`, ...) of the program `command` belongs to. */
function storeOptions(command: Command) {
  const values = command.optsWithGlobals<{
    db?: string;
    pg?: string;
    pgSchema?: string;
    pgTable?: string;
  }>();
  return {
    ...values,
    sourceOf: (name: 'db' | 'pg') => command.getOptionValueSourceWithGlobals(name),
  };
}

/**
 * Opens the database chosen by the global options, runs `work` with it, and closes it however
 * `work` ends.
 */
export async function withStore<T>(
  command: Command,
  work: (opened: OpenedStore) => Promise<T>,
): Promise<T> {
  const opened = await openStore(selectStore(storeOptions(command)));
  try {
    return await work(opened);
  } finally {
    await opened.close();
  }
}
