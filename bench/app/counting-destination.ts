import pino from 'pino';

/**
 * pino's destination for configuration (b), counting the lines it passes on, so that the run
 * can check that request logging really happened for every request instead of trusting it.
 */
export class CountingDestination {
  private readonly target: ReturnType<typeof pino.destination>;
  lines = 0;

  constructor(path: string) {
    this.target = pino.destination({ dest: path, sync: false });
  }

  write(line: string): boolean {
    this.lines += 1;
    return this.target.write(line);
  }
}

/** DI token of the app's {@link CountingDestination}, when it has one. */
export const LINE_COUNTER = Symbol('LINE_COUNTER');
