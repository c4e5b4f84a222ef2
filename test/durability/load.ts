import { Agent, request } from 'node:http';

/** What one request ended with. */
export interface RequestRecord {
  requestId: string;
  /** Label of the test phase the request was sent in (e.g. `before`, `outage`). */
  phase: string;
  /** HTTP status, or undefined when no response head arrived. */
  status?: number;
  /** Error code when the request failed without a response head (ECONNRESET, ...). */
  error?: string;
}

export interface LoadOptions {
  port: number;
  /** Concurrent client loops, each with its own keep-alive connection. */
  clients: number;
  /** Prefix of every request id; unique per run so ids never repeat across rounds or tests. */
  prefix: string;
  /** Upper bound of requests per client loop. */
  maxRequestsPerClient: number;
  /**
   * Upper bound of the whole load, in milliseconds: loops end on their own after it.
   * `Infinity` for none: the loops then end at `maxRequestsPerClient` or `stop()`.
   */
  maxDurationMs: number;
  /** @default 15000; a request waiting longer counts as an error. 0 for no limit. */
  requestTimeoutMs?: number;
  /** Pause after a failed request before the next one, so a dead server is not hammered. */
  errorPauseMs?: number;
  /** Label of the first phase. @default 'load' */
  phase?: string;
}

/** Counts of a set of records, for summaries and messages. */
export interface LoadTally {
  sent: number;
  ok2xx: number;
  byStatus: Record<string, number>;
  errors: number;
  byError: Record<string, number>;
}

const BODY = JSON.stringify({ item: 'widget', quantity: 1 });

/**
 * 32 (or N) client loops sending audited `POST /orders` with unique `x-request-id` values over
 * keep-alive connections to 127.0.0.1, recording what each request got. A request counts as
 * acknowledged as soon as a 2xx status line arrives, even if the body is cut afterwards: the
 * server released it, so under 'ack' its record must already be committed.
 */
export class OrderLoad {
  readonly records: RequestRecord[] = [];
  /** Request ids whose 2xx response echoed another `x-request-id` than was sent. */
  readonly echoMismatches: string[] = [];
  /** First body seen per non-2xx status, for failure messages and checks of the 503 body. */
  readonly sampleBodies = new Map<number, string>();
  /** Label stamped on requests sent from now on. */
  phase: string;
  readonly startedAt = Date.now();
  private stopped = false;
  /** Client loops that have ended (bounds reached, or stopped). */
  private loopsEnded = 0;
  private readonly loops: Promise<void>[] = [];
  private readonly agents: Agent[] = [];
  private readonly sentIds = new Set<string>();

  constructor(private readonly options: LoadOptions) {
    this.phase = options.phase ?? 'load';
    for (let client = 0; client < options.clients; client += 1) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      this.agents.push(agent);
      this.loops.push(
        this.loop(client, agent).finally(() => {
          this.loopsEnded += 1;
        }),
      );
    }
  }

  /** Ids of every request sent (whatever happened to it). */
  get sent(): ReadonlySet<string> {
    return this.sentIds;
  }

  /** Ids of the requests that got a 2xx. */
  acknowledged(): string[] {
    return this.records
      .filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300)
      .map((r) => r.requestId);
  }

  tally(phase?: string): LoadTally {
    const tally: LoadTally = { sent: 0, ok2xx: 0, byStatus: {}, errors: 0, byError: {} };
    for (const r of this.records) {
      if (phase !== undefined && r.phase !== phase) continue;
      tally.sent += 1;
      if (r.status === undefined) {
        tally.errors += 1;
        const code = r.error ?? 'unknown';
        tally.byError[code] = (tally.byError[code] ?? 0) + 1;
        continue;
      }
      if (r.status >= 200 && r.status < 300) tally.ok2xx += 1;
      tally.byStatus[r.status] = (tally.byStatus[r.status] ?? 0) + 1;
    }
    return tally;
  }

  /**
   * Resolves once at least `count` requests (of `phase`, if given) have been answered with a 2xx;
   * rejects after `timeoutMs` (`Infinity`: no deadline), or as soon as no more answers can come
   * (stopped, or every loop has ended).
   */
  async until2xx(count: number, timeoutMs: number, phase?: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.tally(phase).ok2xx < count) {
      const over = this.stopped || this.loopsEnded === this.options.clients;
      if (Date.now() > deadline || over) {
        throw new Error(
          `load: fewer than ${count} 2xx answers${phase ? ` in phase ${phase}` : ''} ${over ? 'before the load ended' : `within ${timeoutMs} ms`}: ${JSON.stringify(this.tally(phase))}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Stops sending, waits for every loop (in-flight requests end or fail), closes the sockets. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    for (const agent of this.agents) agent.destroy();
  }

  /** Waits until the loops end on their own (bounds reached or the server is gone for good). */
  async finished(): Promise<void> {
    await Promise.all(this.loops);
    for (const agent of this.agents) agent.destroy();
  }

  private async loop(client: number, agent: Agent): Promise<void> {
    const deadline = this.startedAt + this.options.maxDurationMs;
    for (let n = 0; n < this.options.maxRequestsPerClient; n += 1) {
      if (this.stopped || Date.now() >= deadline) return;
      const requestId = `${this.options.prefix}-c${client}-${n}`;
      const record: RequestRecord = { requestId, phase: this.phase };
      this.sentIds.add(requestId);
      await this.send(agent, record);
      this.records.push(record);
      if (record.status === undefined) {
        await new Promise((resolve) => setTimeout(resolve, this.options.errorPauseMs ?? 25));
      }
    }
  }

  private send(agent: Agent, record: RequestRecord): Promise<void> {
    const timeoutMs = this.options.requestTimeoutMs ?? 15_000;
    return new Promise<void>((resolve) => {
      let settled = false;
      const done = () => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      const req = request(
        {
          host: '127.0.0.1',
          port: this.options.port,
          method: 'POST',
          path: '/orders',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(BODY),
            'x-request-id': record.requestId,
          },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          record.status = status;
          const ok = status >= 200 && status < 300;
          if (ok && res.headers['x-request-id'] !== record.requestId)
            this.echoMismatches.push(record.requestId);
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (!ok && body.length < 2_000) body += chunk;
          });
          res.on('end', () => {
            if (!ok && !this.sampleBodies.has(status)) this.sampleBodies.set(status, body);
            done();
          });
          // The status line already arrived: the request keeps its status even if the body is cut.
          res.on('error', done);
          res.on('aborted', done);
          res.on('close', done);
        },
      );
      if (timeoutMs > 0) {
        req.setTimeout(timeoutMs, () =>
          req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
        );
      }
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (record.status === undefined) record.error = error.code ?? error.message;
        done();
      });
      req.end(BODY);
    });
  }
}
