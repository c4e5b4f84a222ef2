/**
 * The side of the gate's stdin/stdout protocol that a process under valgrind runs (target.ts,
 * orm-target.ts): it waits for the driver's words on stdin, and ends with exit code 0 or 1.
 */
import { createInterface } from 'node:readline';

/** Returns a function that resolves once the next line on stdin is `word`, and throws otherwise. */
export function driverWords(label: string): (word: string) => Promise<void> {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  return async (word) => {
    const next = await lines.next();
    if (next.done || next.value.trim() !== word) {
      throw new Error(`${label}: expected ${word} on stdin, got ${String(next.value)}`);
    }
  };
}

/** Runs a target to its end: exit code 0, or 1 with the error on stderr. */
export function runTarget(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(
        `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
