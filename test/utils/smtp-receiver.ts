/**
 * A real SMTP server (smtp-server) on 127.0.0.1, port 0, no TLS, no authentication, that keeps
 * every message it accepts, parsed, and can be told to refuse or delay the next ones. For tests
 * of the e-mail notifier and of alarm delivery end to end.
 *
 * Messages are parsed with mailparser, from the whole message at once (mailparser 3.6 can lose
 * a space at a quoted-printable soft line break that falls on a chunk boundary of a stream).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/** One message as the server received it. */
export interface ReceivedMail {
  /** SMTP envelope: MAIL FROM and RCPT TO addresses. */
  envelope: { from: string; to: string[] };
  /** Headers, names in lower case, values decoded; a repeated header keeps its first value. */
  headers: Record<string, string>;
  /** Decoded `Subject`. */
  subject: string;
  /** The text/plain part, decoded. */
  text?: string;
  /** The text/html part, decoded. */
  html?: string;
  /** The whole message as received (bytes as latin1 characters). */
  raw: string;
}

/** How to refuse a message: at which command, with which reply. */
export interface SmtpFailure {
  /** `mail` (MAIL FROM), `rcpt` (every RCPT TO) or `data` (after the content). */
  stage: 'mail' | 'rcpt' | 'data';
  /** SMTP reply code, e.g. 451 (try later) or 550 (refused). */
  code: number;
  /** Reply text. */
  message?: string;
}

function headerText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    const shaped = value as { text?: unknown; value?: unknown };
    if (typeof shaped.text === 'string') return shaped.text; // addresses
    if (typeof shaped.value === 'string') return shaped.value; // structured (content-type)
  }
  return String(value);
}

/** Parses a message with mailparser: decoded headers (names in lower case), text and html. */
export async function parseMail(
  raw: Buffer,
  envelope: ReceivedMail['envelope'],
): Promise<ReceivedMail> {
  const parsed = await simpleParser(raw);
  const headers: Record<string, string> = {};
  for (const [name, value] of parsed.headers) headers[name] = headerText(value);
  return {
    envelope,
    headers,
    subject: parsed.subject ?? '',
    ...(parsed.text === undefined ? {} : { text: parsed.text }),
    ...(typeof parsed.html === 'string' ? { html: parsed.html } : {}),
    raw: raw.toString('latin1'),
  };
}

function smtpError(failure: SmtpFailure): Error {
  const error = new Error(
    failure.message ?? (failure.code >= 500 ? 'Refused by test' : 'Try again later'),
  ) as Error & {
    responseCode: number;
  };
  error.responseCode = failure.code;
  return error;
}

/** A running SMTP receiver. */
export class SmtpReceiver {
  /** Every message accepted, in order. */
  readonly messages: ReceivedMail[] = [];
  /** Transactions refused so far (by {@link SmtpReceiver.failNext}). */
  refused = 0;
  private readonly failures: SmtpFailure[] = [];
  private readonly active = new Map<string, SmtpFailure>();
  private delayMs = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  private server: SMTPServer | undefined;
  private listeningPort = 0;

  private constructor() {}

  /** Port on 127.0.0.1. */
  get port(): number {
    return this.listeningPort;
  }

  /** `smtp://127.0.0.1:<port>`, the channel's `transport`. */
  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** Starts a receiver on 127.0.0.1 with an ephemeral port. */
  static async start(): Promise<SmtpReceiver> {
    const receiver = new SmtpReceiver();
    const key = (session: SMTPServerSession) => `${session.id}:${session.transaction}`;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      closeTimeout: 100,
      onMailFrom(_address, session, callback) {
        const failure = receiver.failures.shift();
        if (failure) {
          receiver.refused += 1;
          if (failure.stage === 'mail') return callback(smtpError(failure));
          receiver.active.set(key(session), failure);
        }
        callback();
      },
      onRcptTo(_address, session, callback) {
        const failure = receiver.active.get(key(session));
        if (failure?.stage === 'rcpt') return callback(smtpError(failure));
        callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const failure = receiver.active.get(key(session));
          receiver.active.delete(key(session));
          if (failure) return callback(smtpError(failure));
          const finish = () => {
            const from = session.envelope.mailFrom;
            parseMail(Buffer.concat(chunks), {
              from: from ? from.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
            }).then(
              (mail) => {
                receiver.messages.push(mail);
                callback();
              },
              (error: unknown) =>
                callback(error instanceof Error ? error : new Error(String(error))),
            );
          };
          const delay = receiver.delayMs;
          if (delay <= 0) return finish();
          const timer = setTimeout(() => {
            receiver.timers.delete(timer);
            finish();
          }, delay);
          receiver.timers.add(timer);
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.server.address() as AddressInfo;
    receiver.server = server;
    receiver.listeningPort = port;
    return receiver;
  }

  /** Refuses the next `count` messages the given way (e.g. 451 at `data`, 550 at `rcpt`). */
  failNext(count: number, failure: SmtpFailure): this {
    for (let i = 0; i < count; i += 1) this.failures.push(failure);
    return this;
  }

  /** Waits this long before accepting each message's content (0 to stop). */
  delay(ms: number): this {
    this.delayMs = ms;
    return this;
  }

  /** Messages received whole and not answered yet (held back by {@link SmtpReceiver.delay}). */
  get held(): number {
    return this.timers.size;
  }

  /** Resolves once at least `count` messages were accepted; rejects after `timeoutMs`. */
  async waitForMessages(count: number, timeoutMs = 5000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      if (Date.now() > deadline) {
        throw new Error(`SmtpReceiver: expected ${count} messages, got ${this.messages.length}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.messages;
  }

  /** Stops the server. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A TCP server that accepts connections and never says a word (see {@link startSilentServer}). */
export interface SilentServer {
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections the client closed (the server never closes one before `close()`). */
  readonly closedByClient: number;
  /** Closes every connection, then the server. */
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 that accepts connections and never says a word (an SMTP server that hangs). */
export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let closedByClient = 0;
  let closing = false;
  const server: Server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    // Reads (and drops) what comes, so that the client's hanging up is noticed.
    socket.resume();
    socket.on('close', () => {
      sockets.delete(socket);
      if (!closing) closedByClient += 1;
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    get connections() {
      return connections;
    },
    get closedByClient() {
      return closedByClient;
    },
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 where nothing listens (it was bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
