import type { AlarmChannelConfig, AlarmRule, AuditAlarmOptions } from '../../src';

/** Where the sample's alarms go; each one is optional. */
export interface SampleAlarmChannels {
  /** SMTP URL of a mail server (the scenario starts a local mail catcher). */
  smtpUrl?: string;
  /** A webhook receiver and its shared secret (the durability tests run one). */
  webhook?: { url: string; secret: string; timeoutMs?: number };
}

/**
 * The alarms the business team asked for: "a user's MFA phone number changed" and "repeated
 * failed logins", by e-mail to security (and to a webhook when one is given).
 */
export function sampleAlarms(
  to: SampleAlarmChannels,
  extra: Partial<AuditAlarmOptions> = {},
): AuditAlarmOptions | undefined {
  const channels: Record<string, AlarmChannelConfig> = {};
  if (to.smtpUrl) {
    channels.security = {
      type: 'email',
      transport: to.smtpUrl,
      from: 'audit@sample-shop.test',
      to: 'security@sample-shop.test',
    };
  }
  if (to.webhook) channels.siem = { type: 'webhook', ...to.webhook };
  if (Object.keys(channels).length === 0) return undefined;
  const rules: AlarmRule[] = [
    {
      name: 'mfa-phone-changed',
      action: 'user.update',
      changed: ['mfaPhone'],
      channels: Object.keys(channels),
      severity: 'high',
      title: 'MFA phone number changed for user {target.id}',
      message: '{actor.email} changed the MFA phone number of user {target.id}: {changes}',
    },
    {
      name: 'login-failures',
      action: 'session.login',
      outcome: 'failure',
      // Once per minute per client address, from the third failed login on.
      threshold: { count: 3, window: '1m', groupBy: 'source.ip' },
      channels: Object.keys(channels),
      severity: 'critical',
      title: 'Repeated failed logins from {source.ip}',
      message: 'Failed logins from {source.ip}, the last one as "{actor.name}".',
    },
  ];
  return { channels, rules, ...extra };
}
