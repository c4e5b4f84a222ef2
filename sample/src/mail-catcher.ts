import { simpleParser } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/** One e-mail the catcher received. */
export interface CaughtMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
}

/**
 * A local SMTP server on 127.0.0.1 that keeps what it receives, so the sample can show an alarm
 * e-mail arriving without a real mail server (a "mail catcher", as used in development).
 */
export class MailCatcher {
  readonly mails: CaughtMail[] = [];
  private readonly waiters: (() => void)[] = [];
  private readonly server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData: (stream, session, callback) => {
      // Parse the whole message at once: mailparser 3.6 can lose a space at a quoted-printable
      // soft line break that falls on a chunk boundary of a stream.
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error: Error) => callback(error));
      stream.on('end', () => this.receive(Buffer.concat(chunks), session, callback));
    },
  });

  private receive(
    raw: Buffer,
    session: SMTPServerSession,
    callback: (error?: Error | null) => void,
  ): void {
    simpleParser(raw)
      .then((parsed) => {
        this.mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: parsed.subject ?? '',
          text: parsed.text ?? '',
        });
        for (const wake of this.waiters.splice(0)) wake();
        callback();
      })
      .catch((error: unknown) =>
        callback(error instanceof Error ? error : new Error(String(error))),
      );
  }

  /** Starts listening on an ephemeral port; resolves with the SMTP URL to give nodemailer. */
  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.server.server.address() as AddressInfo;
    return `smtp://127.0.0.1:${port}`;
  }

  /** Resolves once `count` mails arrived, or after `timeoutMs` with what arrived by then. */
  async waitFor(count: number, timeoutMs: number): Promise<CaughtMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.mails.length < count && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.mails;
  }

  /** Stops the server. */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
