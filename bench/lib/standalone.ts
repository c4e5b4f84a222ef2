import { PLATFORMS, type Platform } from '../config';

/** The settings every measurement that runs on its own reads. */
export interface StandaloneSettings {
  /** BENCH_ROUNDS, 1 to 50 (default 5). */
  rounds: number;
  /** BENCH_PLATFORMS, a comma-separated subset of express and fastify (default both). */
  platforms: Platform[];
}

/** Reads {@link StandaloneSettings}; `undefined` (after saying why on stderr) when invalid. */
export function standaloneSettings(): StandaloneSettings | undefined {
  const raw = process.env.BENCH_ROUNDS ?? '5';
  const rounds = Number(raw);
  const platforms = (process.env.BENCH_PLATFORMS ?? PLATFORMS.join(','))
    .split(',')
    .map((p) => p.trim())
    .filter((p): p is Platform => (PLATFORMS as readonly string[]).includes(p));
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50 || platforms.length === 0) {
    return refuse(
      `BENCH_ROUNDS=${raw} / BENCH_PLATFORMS: expected 1 to 50 rounds and express and/or fastify.`,
    );
  }
  return { rounds, platforms };
}

/** Says why a standalone measurement cannot run, and makes the process exit with 1. */
export function refuse(message: string): undefined {
  process.stderr.write(`${message}\n`);
  process.exitCode = 1;
  return undefined;
}

/** Prints the section a measurement's results make, or its error (exit code 1). */
export function printSection<T>(measured: Promise<T>, section: (results: T) => string[]): void {
  measured.then(
    (results) => process.stdout.write(`${section(results).join('\n')}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
