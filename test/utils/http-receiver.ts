/**
 * A real HTTP server on 127.0.0.1 (port 0) that records every request and answers from a
 * script, for tests of the Slack and webhook notifiers and of alarm delivery end to end.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as received. */
export interface RecordedRequest {
  method: string;
  /** Path with query string. */
  path: string;
  /** Header names in lower case, as Node gives them. */
  headers: IncomingHttpHeaders;
  /** The body bytes exactly as received. */
  rawBody: Buffer;
  /** The body as UTF-8 text. */
  body: string;
  /** The status the receiver answered with (undefined when it hung up or never answered). */
  status?: number;
  /** When it arrived (ms since the epoch). */
  receivedAt: number;
  /** Set when the connection closed before the receiver answered: the client gave up on it. */
  abandoned?: true;
}

/** One scripted answer. Without a script (or after it ran out) the receiver answers 200 "ok". */
export interface ScriptedResponse {
  /** @default 200 */
  status?: number;
  headers?: Record<string, string>;
  /** @default 'ok' for 2xx, '' otherwise */
  body?: string;
  /** Wait this long before answering (after `until`, when both are set). */
  delayMs?: number;
  /** Answer only once this settles: holds the request open until the test lets it go. */
  until?: Promise<unknown>;
  /** Never answer (the request stays open until the client gives up or the receiver closes). */
  hang?: boolean;
  /** Destroy the connection without answering. */
  hangUp?: boolean;
}

/** A running receiver. */
export class HttpReceiver {
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  private readonly script: ScriptedResponse[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly waiters = new Set<() => void>();
  private closing = false;

  private constructor(
    private readonly server: Server,
    /** Base URL, e.g. `http://127.0.0.1:43121`. */
    readonly url: string,
  ) {}

  /** Starts a receiver on 127.0.0.1 with an ephemeral port. */
  static async start(): Promise<HttpReceiver> {
    // The request handler needs the receiver, which needs the listening server's port.
    const ref: { receiver?: HttpReceiver } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () =>
        ref.receiver?.handle(req.method ?? '', req.url ?? '', req.headers, chunks, res),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const receiver = new HttpReceiver(server, `http://127.0.0.1:${port}`);
    ref.receiver = receiver;
    return receiver;
  }

  /** Queues answers for the next requests, in order (e.g. 500, 500, then the default 200). */
  respondWith(...responses: ScriptedResponse[]): this {
    this.script.push(...responses);
    return this;
  }

  /** Drops the answers still queued: from now on every request gets the default 200. */
  clearScript(): this {
    this.script.length = 0;
    return this;
  }

  /** Requests with distinct `X-Audit-Alarm-Id`, the first of each (what a deduplicating receiver keeps). */
  uniqueByAlarmId(): RecordedRequest[] {
    const seen = new Set<string>();
    const out: RecordedRequest[] = [];
    for (const request of this.requests) {
      const id = request.headers['x-audit-alarm-id'];
      const key = Array.isArray(id) ? id.join(',') : (id ?? '');
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(request);
    }
    return out;
  }

  /** Requests answered with a 2xx status. */
  accepted(): RecordedRequest[] {
    return this.requests.filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300);
  }

  /** Resolves once at least `count` requests arrived; rejects after `timeoutMs`. */
  async waitForRequests(count: number, timeoutMs = 5000): Promise<RecordedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`HttpReceiver: expected ${count} requests, got ${this.requests.length}`);
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 1000));
        this.waiters.add(done);
      });
    }
    return this.requests;
  }

  /** Stops the server, cutting open (hanging) requests. */
  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    chunks: Buffer[],
    res: ServerResponse,
  ): void {
    const rawBody = Buffer.concat(chunks);
    const record: RecordedRequest = {
      method,
      path,
      headers,
      rawBody,
      body: rawBody.toString('utf8'),
      receivedAt: Date.now(),
    };
    this.requests.push(record);
    res.once('close', () => {
      if (!res.writableEnded && !this.closing) record.abandoned = true;
    });
    for (const waiter of [...this.waiters]) {
      this.waiters.delete(waiter);
      waiter();
    }
    const step = this.script.shift() ?? {};
    if (step.hang) return;
    const answer = () => {
      if (step.hangUp) {
        res.socket?.destroy();
        return;
      }
      const status = step.status ?? 200;
      record.status = status;
      res.writeHead(status, { 'content-type': 'text/plain', ...step.headers });
      res.end(step.body ?? (status >= 200 && status < 300 ? 'ok' : ''));
    };
    const later = () => {
      if (!step.delayMs) {
        answer();
        return;
      }
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        answer();
      }, step.delayMs);
      this.timers.add(timer);
    };
    if (step.until) void step.until.then(later, later);
    else later();
  }
}
