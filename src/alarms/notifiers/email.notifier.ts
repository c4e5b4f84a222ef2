import { createHash } from 'node:crypto';
import type { AlarmMessage } from '../../stores/alarm-message';
import type { EmailChannelConfig } from '../alarm-options';
import { renderAlarmEmail } from './alarm-email';
import { AlarmDeliveryError, AlarmNotifier, type AlarmSendContext } from './alarm-notifier';
import { headerValue } from './http-post';
import { loadNodemailer, type MailTransporter, type NodemailerModule } from './nodemailer-driver';
import { AUDIT_ALARM_ID_HEADER } from './webhook-signature';

/** Default of `timeoutMs` for every channel. */
const DEFAULT_TIMEOUT_MS = 10_000;
/** Domain of the Message-ID when the sender address has none we can use. */
const FALLBACK_DOMAIN = 'nestjs-audit.invalid';

/** Nodemailer error codes of a connection that failed or broke (always worth a retry). */
const CONNECTION_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EPROXY']);
/** Codes of errors about the message itself, for which a 5xx reply is final. */
const MESSAGE_CODES = new Set(['EENVELOPE', 'EMESSAGE']);

/** The address part of `Name <addr>` or `addr`. */
function bareAddress(address: string): string {
  const angle = /<([^<>]*)>\s*$/.exec(address);
  return (angle?.[1] ?? address).trim();
}

/**
 * A Message-ID that is the same for every retry of one alarm, so mail clients can thread or
 * drop repeats; the id is hashed because it may hold characters a Message-ID cannot.
 */
export function alarmMessageId(alarmId: string, from: string): string {
  const domain = bareAddress(from).split('@').pop() ?? '';
  const safeDomain = /^[A-Za-z0-9.-]{1,200}$/.test(domain) ? domain : FALLBACK_DOMAIN;
  const hash = createHash('sha256').update(alarmId, 'utf8').digest('hex').slice(0, 40);
  return `<audit-alarm.${hash}@${safeDomain}>`;
}

/** Where mail goes, as it may be shown (never the user or password of an SMTP URL). */
function describeServer(transport: EmailChannelConfig['transport']): string {
  if (typeof transport === 'string') {
    try {
      const url = new URL(transport);
      return `${url.protocol}//${url.host}`;
    } catch {
      return 'the SMTP server';
    }
  }
  const { host, port, service, url } = transport;
  if (typeof url === 'string') return describeServer(url);
  if (typeof host === 'string') return typeof port === 'number' ? `${host}:${port}` : host;
  if (typeof service === 'string') return `service ${service}`;
  return 'the SMTP server';
}

function list(value: string | readonly string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? [value] : [...value];
}

interface SmtpError {
  code?: unknown;
  responseCode?: unknown;
  response?: unknown;
  command?: unknown;
  message?: unknown;
}

function replyOf(error: SmtpError): string {
  const reply = typeof error.response === 'string' ? error.response : '';
  const text = reply || (typeof error.message === 'string' ? error.message : 'unknown error');
  return text.replace(/[\r\n]+/g, ' ').slice(0, 300);
}

/**
 * Sends alarms by e-mail over SMTP with nodemailer (an optional peer: `npm install nodemailer`).
 *
 * One transporter per channel; without `pool: true` in the transport options it opens one SMTP
 * connection per message, which suits the low volume of alarms. Each message carries
 * `X-Audit-Alarm-Id` and a Message-ID derived from the alarm id, the same on every retry.
 *
 * Failures: 4xx replies, connection errors and timeouts are retried; a 5xx refusal of the
 * sender, the recipients or the message (except 503) is final; a 5xx refusal of the login is
 * retried, since fixing the credentials makes the same message deliverable.
 */
export class EmailNotifier extends AlarmNotifier {
  private readonly transporter: MailTransporter;
  private readonly where: string;
  private readonly option: string;

  /**
   * @param config - a validated e-mail channel config (see `validateChannelConfig`)
   * @param channelName - the channel's name, for error messages
   * @param nodemailer - the nodemailer module (loaded with `require` when not given)
   * @throws AuditConfigurationError naming `npm install nodemailer` when nodemailer is missing.
   */
  constructor(
    private readonly config: EmailChannelConfig,
    channelName = 'email',
    nodemailer: NodemailerModule = loadNodemailer(),
  ) {
    super();
    const timeout = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // Nodemailer's own defaults (2 min to connect, 10 min idle) would outlive an attempt by far.
    const timeouts = {
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      dnsTimeout: timeout,
    };
    const options =
      typeof config.transport === 'string'
        ? { ...timeouts, url: config.transport }
        : { ...timeouts, ...config.transport };
    this.transporter = nodemailer.createTransport(options);
    this.where = `E-mail channel "${channelName}" (${describeServer(config.transport)})`;
    this.option = `alarms.channels.${channelName}`;
  }

  /** Sends the message once; throws `AlarmDeliveryError` when it must be retried or dropped. */
  override async send(message: AlarmMessage, context: AlarmSendContext): Promise<void> {
    const email = renderAlarmEmail(message);
    const timeout = AbortSignal.timeout(context.timeoutMs);
    const signal = AbortSignal.any([context.signal, timeout]);
    const mail: Record<string, unknown> = {
      from: this.config.from,
      to: list(this.config.to),
      subject: email.subject,
      text: email.text,
      html: email.html,
      messageId: alarmMessageId(message.id, this.config.from),
      headers: {
        [AUDIT_ALARM_ID_HEADER]: headerValue(message.id),
        'X-Audit-Severity': message.severity,
        'X-Audit-Rule': headerValue(message.rule),
        // RFC 3834: tells out-of-office responders not to answer an automatic message.
        'Auto-Submitted': 'auto-generated',
      },
      signal,
    };
    const cc = list(this.config.cc);
    if (cc) mail.cc = cc;
    const sending = this.transporter.sendMail(mail);
    // Nodemailer 10 cancels on `signal` itself; older versions ignore it, so the attempt also
    // ends here on abort (their own timeouts, set to timeoutMs, then close the connection).
    let onAbort: () => void = () => undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () =>
        reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    });
    aborted.catch(() => undefined);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race([sending, aborted]);
    } catch (error) {
      sending.catch(() => undefined);
      throw this.deliveryError(error, context, timeout);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Closes the transporter (its pooled connections, if any). */
  override close(): Promise<void> {
    this.transporter.close();
    return Promise.resolve();
  }

  private deliveryError(
    error: unknown,
    context: AlarmSendContext,
    timeout: AbortSignal,
  ): AlarmDeliveryError {
    const smtp = (error ?? {}) as SmtpError;
    const code = typeof smtp.code === 'string' ? smtp.code : undefined;
    const status = typeof smtp.responseCode === 'number' ? smtp.responseCode : undefined;
    const withStatus = (options: { permanent?: boolean }) => ({
      ...options,
      ...(status === undefined ? {} : { statusCode: status }),
      cause: error,
    });

    if (code === 'EABORT' || code === 'ETIMEDOUT' || timeout.aborted || context.signal.aborted) {
      if (context.signal.aborted && !timeout.aborted) {
        return new AlarmDeliveryError(
          `Sending through ${this.where} was cancelled; the alarm will be retried.`,
          withStatus({}),
        );
      }
      return new AlarmDeliveryError(
        `${this.where} did not complete within ${context.timeoutMs} ms; the alarm will be retried. If the server is slow, raise ${this.option}.timeoutMs.`,
        withStatus({}),
      );
    }
    if (status !== undefined && status >= 500 && status < 600 && status !== 503) {
      if (code !== undefined && MESSAGE_CODES.has(code)) {
        return new AlarmDeliveryError(
          `${this.where} refused the alarm e-mail (${replyOf(smtp)}); it will not be retried. Check ${this.option}.from and .to, and the server's rules for them.`,
          withStatus({ permanent: true }),
        );
      }
      if (code === 'EAUTH') {
        return new AlarmDeliveryError(
          `${this.where} refused the login (${replyOf(smtp)}); the alarm will be retried. Check the user and password in ${this.option}.transport.`,
          withStatus({}),
        );
      }
    }
    if (status !== undefined && status >= 400) {
      return new AlarmDeliveryError(
        `${this.where} answered ${replyOf(smtp)}; the alarm will be retried.`,
        withStatus({}),
      );
    }
    if (code !== undefined && CONNECTION_CODES.has(code)) {
      return new AlarmDeliveryError(
        `Could not talk to ${this.where}: ${replyOf(smtp)}; the alarm will be retried. Check that the server is reachable from here and ${this.option}.transport.`,
        withStatus({}),
      );
    }
    return new AlarmDeliveryError(
      `Sending through ${this.where} failed: ${replyOf(smtp)}; the alarm will be retried.`,
      withStatus({}),
    );
  }
}
