import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { promisify } from 'node:util';

import { collectorShare, type CollectorShare } from './collector-share';

const run = promisify(execFile);

/**
 * Node flags that make the count repeatable: V8 compiles, marks and sweeps on the main thread
 * at points fixed by the work done (not by how fast a helper thread was), its heap grows on a
 * fixed schedule, and Math.random is seeded. Chosen by running each app twice with and without
 * them (bench/README.md); `CG_NODE_FLAGS` overrides them.
 */
export const STABLE_NODE_FLAGS = [
  '--single-threaded',
  '--predictable-gc-schedule',
  '--random-seed=1',
] as const;

/** One node process under callgrind, talked to over stdin/stdout lines. */
export class CallgrindProcess {
  private readonly lines: AsyncIterableIterator<string>;
  private readonly reader: Interface;
  private stderr = '';
  private instrumented = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly outPrefix: string,
    private readonly dir: string,
  ) {
    this.reader = createInterface({ input: child.stdout! });
    this.lines = this.reader[Symbol.asyncIterator]();
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-6000);
    });
  }

  /**
   * Starts `node <flags> <script>` under callgrind with instrumentation off (boot and warm-up run
   * at near-native speed) and one output file per thread, so the main thread can be read alone.
   */
  static start(
    script: string,
    nodeFlags: readonly string[],
    env: NodeJS.ProcessEnv,
    dir: string,
    name: string,
  ): CallgrindProcess {
    const outPrefix = `cg.${name}`;
    const child = spawn(
      'valgrind',
      [
        '--tool=callgrind',
        '--instr-atstart=no',
        '--separate-threads=yes',
        '--dump-instr=no',
        '--dump-line=no',
        `--callgrind-out-file=${join(dir, `${outPrefix}.%p`)}`,
        process.execPath,
        ...nodeFlags,
        script,
      ],
      { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    return new CallgrindProcess(child, outPrefix, dir);
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('valgrind did not start');
    return this.child.pid;
  }

  /** The next line the target writes on stdout; throws with valgrind's stderr when it ended. */
  async expectLine(prefix: string): Promise<string> {
    const next = await this.lines.next();
    if (next.done || !next.value.startsWith(prefix)) {
      throw new Error(
        `expected "${prefix}" from the target, got ${next.done ? 'end of output' : JSON.stringify(next.value)}\n${this.stderr}`,
      );
    }
    return next.value;
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  private async control(...args: string[]): Promise<void> {
    await run('callgrind_control', [...args, String(this.pid)], { timeout: 60_000 });
  }

  /** Turns instrumentation on (first time) and zeroes the counters: counting starts now. */
  async startCounting(): Promise<void> {
    if (!this.instrumented) {
      await this.control('--instr=on');
      this.instrumented = true;
    }
    await this.control('--zero');
  }

  /**
   * Dumps the counters and returns the main thread's instructions since {@link startCounting},
   * with the collector's share; instrumentation goes off again until the next measured phase.
   */
  async stopCounting(): Promise<CollectorShare> {
    const before = new Set(readdirSync(this.dir));
    await this.control('--dump');
    const fresh = readdirSync(this.dir).filter(
      (f) => f.startsWith(`${this.outPrefix}.${this.pid}.`) && f.endsWith('-01') && !before.has(f),
    );
    if (fresh.length !== 1) {
      throw new Error(`expected one new main-thread dump, found ${JSON.stringify(fresh)}`);
    }
    await this.control('--instr=off');
    this.instrumented = false;
    return collectorShare(join(this.dir, fresh[0]!));
  }

  /** Waits for the process to exit (it exits by itself after its last phase). */
  async exit(timeoutMs: number): Promise<void> {
    if (this.child.exitCode !== null) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.kill();
        reject(new Error(`valgrind did not exit within ${timeoutMs} ms\n${this.stderr}`));
      }, timeoutMs);
      this.child.once('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`the target exited with code ${code}\n${this.stderr}`));
      });
    });
    this.reader.close();
  }

  /** SIGKILL of this valgrind process only. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Fails early, with the install command, when valgrind or callgrind_control is missing. */
export async function checkValgrind(): Promise<string> {
  try {
    const { stdout } = await run('valgrind', ['--version']);
    await run('callgrind_control', ['--version']);
    return stdout.trim();
  } catch {
    throw new Error(
      'valgrind and callgrind_control are needed for the instruction gate: apt-get install -y valgrind',
    );
  }
}
