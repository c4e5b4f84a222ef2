import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import type { AuditHealth } from '../../src';
import { SAMPLE_MAIN } from './sample-build';

/** How a server process ended. */
export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartOptions {
  /** Shown in failure messages, e.g. `sqlite round 3`. */
  label: string;
  /** Working directory of the process: a temporary directory, so stray files land there. */
  cwd: string;
  /** Sample settings (AUDIT_STORE, AUDIT_DURABILITY, ...); PORT 0, HOST and AUDIT_STREAM are preset. */
  env: Record<string, string>;
  /** @default 20000 */
  bootTimeoutMs?: number;
  /**
   * The compiled entry to run: another server that reports its port the same way
   * (e.g. `ORM_APPS_MAIN`, the Prisma/MikroORM orders server).
   * @default SAMPLE_MAIN (the sample shop)
   */
  main?: string;
}

const OUTPUT_TAIL_CHARS = 16_000;
const live = new Set<SampleServer>();

/**
 * The compiled sample app running as a child process, so it can really be SIGKILLed and
 * SIGTERMed. Every instance is tracked until it has exited; {@link killAllServers} ends the rest.
 */
export class SampleServer {
  private outputTail = '';
  private exit: ServerExit | undefined;
  readonly exited: Promise<ServerExit>;
  port = 0;

  private constructor(
    readonly label: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise<ServerExit>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        resolve(this.exit);
      });
    });
    const keep = (chunk: Buffer) => {
      this.outputTail = (this.outputTail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  /** Spawns the sample and resolves once it prints `{"listening":<port>}`. */
  static async start(options: StartOptions): Promise<SampleServer> {
    const child = spawn(process.execPath, [options.main ?? SAMPLE_MAIN], {
      cwd: options.cwd,
      // A minimal environment: nothing of the test runner's (NODE_OPTIONS, PG*) leaks into the app.
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: '0',
        AUDIT_STREAM: 'off',
        // The load generator names each request (x-request-id) and looks for it in the trail.
        AUDIT_TRUST_REQUEST_ID: '1',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new SampleServer(options.label, child);
    live.add(server);
    const bootTimeoutMs = options.bootTimeoutMs ?? 20_000;
    try {
      server.port = await new Promise<number>((resolve, reject) => {
        let buffered = '';
        const timer = setTimeout(
          () => reject(new Error(`did not print {"listening":<port>} within ${bootTimeoutMs} ms`)),
          bootTimeoutMs,
        );
        const onData = (chunk: Buffer) => {
          buffered += chunk.toString('utf8');
          const match = /\{"listening":(\d+)\}/.exec(buffered);
          if (match?.[1]) {
            clearTimeout(timer);
            child.stderr?.off('data', onData);
            resolve(Number(match[1]));
          }
        };
        child.stderr?.on('data', onData);
        void server.exited.then((exit) => {
          clearTimeout(timer);
          reject(new Error(`exited before listening (code ${exit.code}, signal ${exit.signal})`));
        });
      });
    } catch (error) {
      child.kill('SIGKILL');
      await server.exited;
      throw new Error(
        `sample server (${options.label}) failed to start: ${(error as Error).message}\n--- output ---\n${server.output()}`,
      );
    }
    return server;
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error(`sample server (${this.label}) has no pid`);
    return pid;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Last lines the process printed (stdout and stderr), for failure messages. */
  output(): string {
    return this.outputTail;
  }

  /** Sends a signal without waiting. */
  signal(signal: 'SIGKILL' | 'SIGTERM'): void {
    if (this.running) this.child.kill(signal);
  }

  /**
   * Sends `signal` and waits for the exit; see {@link SampleServer.waitForExit}. A SIGKILL cannot
   * be caught, so its exit is awaited as long as it takes (the test's own timeout bounds it).
   */
  async stop(signal: 'SIGKILL' | 'SIGTERM', timeoutMs = 20_000): Promise<ServerExit> {
    if (this.exit) return this.exit;
    this.child.kill(signal);
    if (signal === 'SIGKILL') return this.exited;
    return this.waitForExit(timeoutMs, signal);
  }

  /**
   * Waits for the process to exit. One still alive after `timeoutMs` is SIGKILLed and the call
   * rejects, so a hung shutdown fails the test instead of hanging it.
   */
  async waitForExit(timeoutMs: number, after = 'the signal'): Promise<ServerExit> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
      throw new Error(
        `sample server (${this.label}) was still running ${timeoutMs} ms after ${after}; killed.\n--- output ---\n${this.output()}`,
      );
    }
    return result;
  }

  /** Resident set size of the process in kB, from /proc (Linux). */
  rssKb(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    if (!match?.[1]) throw new Error(`no VmRSS in /proc/${this.pid}/status`);
    return Number(match[1]);
  }

  /** The audit write path's state, from the sample's (unaudited) GET /health. */
  async health(timeoutMs = 5_000): Promise<AuditHealth> {
    const body = await new Promise<string>((resolve, reject) => {
      const req = get(`${this.url}/health`, { timeout: timeoutMs }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(text)
            : reject(new Error(`GET /health answered ${res.statusCode}: ${text}`)),
        );
        res.on('error', reject);
      });
      req.on('timeout', () =>
        req.destroy(new Error(`GET /health timed out after ${timeoutMs} ms`)),
      );
      req.on('error', reject);
    });
    return (JSON.parse(body) as { audit: AuditHealth }).audit;
  }
}

/** SIGKILLs every sample process still running and waits for them; for afterAll/afterEach. */
export async function killAllServers(): Promise<void> {
  const running = [...live];
  for (const server of running) server.signal('SIGKILL');
  await Promise.all(running.map((server) => server.exited));
}

/** Polls `check` every `everyMs` until it returns true; rejects with `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
