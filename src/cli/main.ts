#!/usr/bin/env node
import { EXIT_INTERRUPTED } from './cli-error';
import { runCli } from './cli-program';
import type { CliContext } from './cli-context';

/** 128 + the signal number, the exit status shells report for a process ended by it. */
const SIGNAL_EXIT: Readonly<Record<string, number>> = { SIGINT: EXIT_INTERRUPTED, SIGTERM: 143 };

function main(): void {
  const interruption = new AbortController();
  let claimed = false;
  const context: CliContext = {
    io: { stdout: process.stdout, stderr: process.stderr, env: process.env },
    now: () => Date.now(),
    interruptible: () => {
      claimed = true;
      return interruption.signal;
    },
  };
  const onSignal = (signal: NodeJS.Signals) => {
    // A command that stops cleanly gets the first signal; a second one, or a command that
    // has nothing to clean up, ends the process at once.
    if (claimed && !interruption.signal.aborted) interruption.abort(signal);
    else process.exit(SIGNAL_EXIT[signal] ?? 1);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    // The reader went away (`nestjs-audit export | head`): nothing more is wanted.
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  void runCli(process.argv.slice(2), context).then((code) => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.exitCode = code;
  });
}

main();
