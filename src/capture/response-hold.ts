/**
 * Holds a Node.js HTTP response at its first byte until its audit event is committed, whatever
 * sends it (the handler, an exception filter, the body parser, a guard's refusal, a middleware):
 * the event then records the status actually sent, and 'ack' still means "committed before the
 * client hears of it". Works on the raw `ServerResponse`, so Express and Fastify (and Fastify's
 * `inject()`) behave the same.
 */

/** The part of `http.ServerResponse` the hold uses. */
export interface RawResponse {
  statusCode: number;
  headersSent: boolean;
  writableEnded?: boolean;
  writableFinished?: boolean;
  writeHead(...args: unknown[]): unknown;
  write(...args: unknown[]): boolean;
  end(...args: unknown[]): unknown;
  flushHeaders?(...args: unknown[]): unknown;
  getHeaderNames?(): string[];
  removeHeader?(name: string): void;
  once(event: 'close', listener: () => void): unknown;
  emit(event: string, ...args: unknown[]): boolean;
}

/** What the response's first byte tells about it. */
export interface ResponseStart {
  /** The status code being sent. */
  statusCode: number;
  /** The start of the body, when the first write carries one (at most `peekBytes`). */
  body?: string;
  /** The response's `content-type`, when set. */
  contentType?: string;
}

/** What to do with a held response once its event is settled. */
export type HoldDecision =
  | { kind: 'release' }
  /** Send this instead (the event could not be recorded and the response was a success). */
  | { kind: 'replace'; statusCode: number; body: string; keepHeaders: readonly string[] };

const WRITE_METHODS = ['writeHead', 'write', 'end', 'flushHeaders'] as const;
type WriteMethod = (typeof WRITE_METHODS)[number];
const PEEK_BYTES = 16 * 1024;

function peekOf(chunk: unknown): string | undefined {
  if (typeof chunk === 'string') return chunk.slice(0, PEEK_BYTES);
  if (Buffer.isBuffer(chunk)) return chunk.subarray(0, PEEK_BYTES).toString('utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.subarray(0, PEEK_BYTES)).toString();
  return undefined;
}

function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

/** `content-type` from the headers set on the response or passed to `writeHead`. */
function contentTypeOf(res: RawResponse, writeHeadArgs: unknown[] | undefined): string | undefined {
  const headers = writeHeadArgs?.find(
    (a) => a !== null && typeof a === 'object' && !Array.isArray(a),
  );
  if (headers) {
    for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
      if (name.toLowerCase() === 'content-type') return headerText(value);
    }
  }
  const getHeader = (res as unknown as { getHeader?: (n: string) => unknown }).getHeader;
  return typeof getHeader === 'function'
    ? headerText(getHeader.call(res, 'content-type'))
    : undefined;
}

/** One write call waiting for the commit. */
interface QueuedWrite {
  name: WriteMethod;
  args: unknown[];
}

/**
 * The hold of one response: its write methods replaced on the instance, the calls queued from
 * the first byte until the event settles, then replayed in order (or replaced).
 */
class ResponseHold {
  private readonly owner: Record<WriteMethod, unknown>;
  // Four fixed keys: plain records, no Map per audited response.
  private readonly originals = {} as Record<WriteMethod, unknown>;
  private readonly installed = {} as Record<WriteMethod, unknown>;
  private readonly queue: QueuedWrite[] = [];
  private phase: 'idle' | 'holding' | 'released' = 'idle';
  private backpressured = false;

  constructor(
    private readonly res: RawResponse,
    private readonly onStart: (start: ResponseStart) => Promise<HoldDecision>,
  ) {
    this.owner = res as unknown as Record<WriteMethod, unknown>;
    for (const name of WRITE_METHODS) this.originals[name] = this.owner[name];
    for (const name of WRITE_METHODS) {
      if (typeof this.originals[name] !== 'function') continue;
      const interceptor = (...args: unknown[]): unknown => this.intercept(name, args);
      this.installed[name] = interceptor;
      this.owner[name] = interceptor;
    }
  }

  /** Removes the hold of a response whose first byte has not come yet. */
  cancel(): void {
    if (this.phase !== 'idle') return;
    this.restore();
    this.replay();
  }

  private intercept(name: WriteMethod, args: unknown[]): unknown {
    if (this.phase === 'released') return this.call(name, args);
    this.queue.push({ name, args });
    if (this.phase === 'idle' && name !== 'writeHead') {
      this.start(name === 'flushHeaders' ? undefined : args[0]);
    }
    if (name === 'write') {
      // Tell a piping source to wait: the bytes stay in memory until the commit.
      this.backpressured = true;
      return false;
    }
    return this.res;
  }

  private start(first: unknown): void {
    this.phase = 'holding';
    const head = this.queue.find((q) => q.name === 'writeHead')?.args;
    const statusCode = typeof head?.[0] === 'number' ? head[0] : this.res.statusCode;
    const body = peekOf(first);
    const contentType = contentTypeOf(this.res, head);
    const settle = (decision: HoldDecision): void => {
      this.restore();
      if (decision.kind === 'replace' && !this.res.headersSent) this.replace(decision);
      else this.replay();
    };
    this.onStart({
      statusCode,
      ...(body === undefined ? {} : { body }),
      ...(contentType ? { contentType } : {}),
    }).then(settle, () => settle({ kind: 'release' }));
  }

  private restore(): void {
    for (const name of WRITE_METHODS) {
      // A library that wrapped the method after us (compression) keeps its wrapper: it calls
      // ours, which passes every call through once released.
      if (this.installed[name] === undefined || this.owner[name] !== this.installed[name]) continue;
      // Put back what was there (the prototype's method, or another library's wrapper) by
      // assignment: deleting own properties turns the response into a dictionary-mode object,
      // on which every property access of the HTTP stack that sends it takes the slow path.
      this.owner[name] = this.originals[name];
    }
    this.phase = 'released';
  }

  private call(name: WriteMethod, args: unknown[]): unknown {
    return (this.originals[name] as (...a: unknown[]) => unknown).apply(this.res, args);
  }

  private replay(): void {
    for (const { name, args } of this.queue.splice(0)) this.call(name, args);
    if (this.backpressured && !this.res.writableEnded) this.res.emit('drain');
  }

  private replace(decision: Extract<HoldDecision, { kind: 'replace' }>): void {
    this.queue.length = 0;
    const keep = new Set(decision.keepHeaders.map((h) => h.toLowerCase()));
    for (const name of this.res.getHeaderNames?.() ?? []) {
      if (!keep.has(name)) this.res.removeHeader?.(name);
    }
    this.call('writeHead', [
      decision.statusCode,
      {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(decision.body),
      },
    ]);
    this.call('end', [decision.body]);
  }
}

/**
 * Replaces the write methods of `res` (on the instance only) so that the first call that would
 * put bytes on the wire calls `onStart` and everything written is queued until the promise it
 * returns settles; then the queue is replayed in order (or replaced, see {@link HoldDecision}).
 * `writeHead` alone does not start the hold: the body that follows tells what was refused.
 *
 * @returns a function that removes the hold without waiting (for a response that is no longer
 *   audited)
 */
export function holdResponse(
  res: RawResponse,
  onStart: (start: ResponseStart) => Promise<HoldDecision>,
): () => void {
  const hold = new ResponseHold(res, onStart);
  return () => hold.cancel();
}
