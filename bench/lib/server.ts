import { fork, type ChildProcess } from 'node:child_process';
import { isServerMessage, type ServerEnv, type ServerMessage } from '../config';

const STDERR_TAIL_CHARS = 4000;

/** Counters read from a server between cells. */
export interface ServerSample {
  /** User + system CPU time used so far, in microseconds. */
  cpuMicros: number;
  /** Main-thread CPU time so far, in microseconds (undefined without /proc). */
  mainThreadMicros: number | undefined;
  /** Largest and 99th-percentile event-loop delay since the previous sample, in ms. */
  loopMaxMs: number;
  loopP99Ms: number;
  /** Lines pino-http wrote so far (configuration (b) only). */
  logLines: number | undefined;
  /** nestjs-audit's store transactions and events committed so far ((c)–(e) only). */
  audit: { commits: number; committed: number } | undefined;
}

/** Every server started and not yet reaped, so that any exit path can kill them. */
const live = new Set<ServerProcess>();

/** Kills (SIGKILL) every server still running; safe to call from exit and signal handlers. */
export function killAllServers(): void {
  for (const server of live) server.kill();
}

/** One served configuration in its own process, talked to over IPC. */
export class ServerProcess {
  private stderr = '';
  private seq = 0;
  private readonly pendingSamples = new Map<number, (sample: ServerSample) => void>();
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly name: string,
    readonly port: number,
  ) {
    this.exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.on('message', (message: unknown) => {
      if (!isServerMessage(message) || message.type !== 'cpu') return;
      this.pendingSamples.get(message.seq)?.({
        cpuMicros: message.userMicros + message.systemMicros,
        mainThreadMicros: message.mainThreadMicros,
        loopMaxMs: message.loopMaxMs,
        loopP99Ms: message.loopP99Ms,
        logLines: message.logLines,
        audit:
          message.auditCommits === undefined || message.auditCommitted === undefined
            ? undefined
            : { commits: message.auditCommits, committed: message.auditCommitted },
      });
      this.pendingSamples.delete(message.seq);
    });
  }

  /** Forks the server entry and waits until it listens (or fails, or times out). */
  static start(
    entry: string,
    name: string,
    env: ServerEnv,
    timeoutMs: number,
  ): Promise<ServerProcess> {
    const child = fork(entry, [], {
      env: { ...process.env, ...env },
      // The served app's stdout carries nothing we need; stderr is kept to explain failures.
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      execArgv: [],
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
    });
    return new Promise<ServerProcess>((resolve, reject) => {
      const fail = (reason: string): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`server ${name} did not start: ${reason}\n${stderr}`));
      };
      const timer = setTimeout(() => fail(`no "ready" within ${timeoutMs} ms`), timeoutMs);
      child.once('exit', (code, signal) => fail(`exited (code ${code}, signal ${signal})`));
      child.once('error', (error) => fail(error.message));
      child.on('message', function onMessage(message: unknown) {
        if (!isServerMessage(message)) return;
        const m: ServerMessage = message;
        if (m.type === 'failed') fail(m.error);
        if (m.type !== 'ready') return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.removeAllListeners('error');
        child.off('message', onMessage);
        const server = new ServerProcess(child, name, m.port);
        server.stderr = stderr;
        child.stderr?.removeAllListeners('data');
        child.stderr?.on('data', (chunk: string) => {
          server.stderr = (server.stderr + chunk).slice(-STDERR_TAIL_CHARS);
        });
        child.on('exit', () => live.delete(server));
        live.add(server);
        resolve(server);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines the server wrote on stderr (warnings, errors). */
  get stderrTail(): string {
    return this.stderr;
  }

  /** The server's CPU time and line count so far, asked over IPC. */
  sample(timeoutMs = 5000): Promise<ServerSample> {
    if (!this.running || !this.child.connected) {
      return Promise.reject(new Error(`server ${this.name} is not running:\n${this.stderr}`));
    }
    const seq = ++this.seq;
    return new Promise<ServerSample>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingSamples.delete(seq);
        reject(new Error(`server ${this.name} did not report its CPU time within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pendingSamples.set(seq, (sample) => {
        clearTimeout(timer);
        resolve(sample);
      });
      this.child.send({ type: 'cpu', seq });
    });
  }

  /** Asks for a clean shutdown (stores flushed and closed), then kills what is left. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (!this.running) return;
    if (this.child.connected) this.child.send({ type: 'stop' });
    else this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    const outcome = await Promise.race([this.exited.then(() => 'exited' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      this.kill();
      await this.exited;
    }
    live.delete(this);
  }

  /** Immediate SIGKILL of this server (its own pid only). */
  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}
