import { messageOf } from '../../common/message-of';
import { AuditConfigurationError } from '../../common/audit-configuration.error';

/**
 * The few shapes of nodemailer the e-mail notifier uses, declared structurally so that
 * nodemailer stays an optional dependency and its types never reach the public declarations.
 */

/** A nodemailer transporter (what `createTransport()` returns). */
export interface MailTransporter {
  /** Sends one message; resolves with the server's acceptance, rejects with a nodemailer error. */
  sendMail(mail: Record<string, unknown>): Promise<unknown>;
  /** Closes pooled connections. */
  close(): void;
}

/** The part of the nodemailer module the notifier calls. */
export interface NodemailerModule {
  /** Builds a transporter from SMTP options (a `url` key may hold a connection URL). */
  createTransport(options: Record<string, unknown>): MailTransporter;
}

const DRIVER = 'nodemailer';

/** Whether `error` says that nodemailer itself (not one of its own dependencies) is missing. */
function isMissingDriver(error: unknown): boolean {
  if ((error as { code?: unknown } | null)?.code !== 'MODULE_NOT_FOUND') return false;
  const missing = /Cannot find module '([^']+)'/.exec(messageOf(error))?.[1];
  return missing === DRIVER || missing?.endsWith(`/${DRIVER}`) === true;
}

/**
 * Loads nodemailer on first use of an e-mail channel.
 *
 * @param load - how to load a module by name (`require` unless a test says otherwise)
 * @throws AuditConfigurationError naming `npm install nodemailer` when the package is missing.
 */
export function loadNodemailer(
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional peer must load only when an e-mail channel is configured
  load: (id: string) => unknown = (id) => require(id),
): NodemailerModule {
  let loaded: unknown;
  try {
    loaded = load(DRIVER);
  } catch (error) {
    if (isMissingDriver(error)) {
      throw new AuditConfigurationError(
        `nestjs-audit: e-mail alarm channels need the "${DRIVER}" package, which is not installed. Run \`npm install ${DRIVER}\`, or remove the channels with type "email".`,
        { cause: error },
      );
    }
    throw new AuditConfigurationError(
      `nestjs-audit: the "${DRIVER}" package is installed but could not be loaded (${messageOf(error)}). Reinstall it with \`npm install ${DRIVER}\`.`,
      { cause: error },
    );
  }
  const exported = loaded as {
    createTransport?: unknown;
    default?: { createTransport?: unknown };
  } | null;
  const createTransport = exported?.createTransport ?? exported?.default?.createTransport;
  if (typeof createTransport !== 'function') {
    throw new AuditConfigurationError(
      `nestjs-audit: the "${DRIVER}" package did not export createTransport(). Reinstall it with \`npm install ${DRIVER}\` (versions 8 to 10 are supported).`,
    );
  }
  return {
    createTransport: (options) =>
      (createTransport as (o: Record<string, unknown>) => MailTransporter).call(exported, options),
  };
}
