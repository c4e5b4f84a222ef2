import { createHmac } from 'node:crypto';
import { HttpReceiver, type RecordedRequest } from '../../../test/utils/http-receiver';
import { betweenMarkers, settlement, turn, until } from '../../../test/utils/until';
import type { AlarmMessage } from '../../stores/alarm-message';
import type { WebhookChannelConfig } from '../alarm-options';
import { createBuiltInNotifier } from './create-notifier';
import { destinationPolicy, type DestinationPolicy } from './destination-guard';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from './http-post';
import { verifyAuditWebhookSignature } from './webhook-signature';
import { webhookPayload, WebhookNotifier } from './webhook.notifier';
import {
  deliveryFailure,
  makeAlarmEvent,
  makeAlarmMessage,
  sendContext,
} from '../../../test/fixtures/alarm-messages';

const SECRET = 'whsec-0123456789abcdef';

function message(overrides: Partial<AlarmMessage> = {}): AlarmMessage {
  return makeAlarmMessage({
    id: 'invoice-void:erp:evt-1',
    rule: 'invoice-void',
    channel: 'erp',
    severity: 'medium',
    title: 'Invoice INV-7 voided',
    text: 'Bob voided invoice INV-7 (→ 0 €)',
    events: [
      makeAlarmEvent({
        action: 'invoice.void',
        actor: { type: 'user', id: '9', name: 'Bob' },
        target: { type: 'invoice', id: 'INV-7' },
        changes: [{ field: 'status', op: 'changed', before: 'open', after: 'void' }],
        text: 'Bob voided invoice INV-7',
      }),
    ],
    ...overrides,
  });
}

function header(request: RecordedRequest | undefined, name: string): string {
  const value = request?.headers[name];
  return typeof value === 'string' ? value : '';
}

/** The receivers run on loopback: opted in as an operator would (`allowPrivateNetworks`). */
const LOOPBACK = destinationPolicy(['127.0.0.1']) as DestinationPolicy;

describe('WebhookNotifier', () => {
  let receiver: HttpReceiver;
  const config = (extra: Partial<WebhookChannelConfig> = {}): WebhookChannelConfig => ({
    type: 'webhook',
    url: `${receiver.url}/hooks/audit?tenant=acme`,
    secret: SECRET,
    ...extra,
  });

  beforeEach(async () => {
    receiver = await HttpReceiver.start();
  });

  afterEach(async () => {
    await receiver.close();
  });

  it('posts the versioned JSON payload with its headers', async () => {
    const before = Math.floor(Date.now() / 1000);
    const msg = message({ url: 'https://admin.acme.test/audit/?event=evt-1', groupKey: '9' });
    await createBuiltInNotifier('erp', config(), LOOPBACK).send(msg, sendContext());
    const [request] = await receiver.waitForRequests(1);
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/hooks/audit?tenant=acme');
    expect(header(request, 'content-type')).toBe('application/json');
    expect(header(request, 'x-audit-alarm-id')).toBe('invoice-void:erp:evt-1');
    const timestamp = Number(header(request, 'x-audit-timestamp'));
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    const body = JSON.parse(request?.body ?? '');
    expect(body).toEqual({
      version: 1,
      id: 'invoice-void:erp:evt-1',
      rule: 'invoice-void',
      channel: 'erp',
      kind: 'event',
      severity: 'medium',
      title: 'Invoice INV-7 voided',
      text: 'Bob voided invoice INV-7 (→ 0 €)',
      count: 1,
      firstAt: '2026-03-14T10:02:05.120Z',
      lastAt: '2026-03-14T10:02:05.120Z',
      service: 'billing',
      events: msg.events,
      groupKey: '9',
      url: 'https://admin.acme.test/audit/?event=evt-1',
    });
    expect(webhookPayload(message())).not.toHaveProperty('url');
  });

  it('signs "<timestamp>.<body>": the helper and an independent HMAC agree', async () => {
    await createBuiltInNotifier('erp', config(), LOOPBACK).send(message(), sendContext());
    const [request] = await receiver.waitForRequests(1);
    const timestamp = header(request, 'x-audit-timestamp');
    const signature = header(request, 'x-audit-signature');
    const independent = createHmac('sha256', SECRET)
      .update(Buffer.concat([Buffer.from(`${timestamp}.`), request!.rawBody]))
      .digest('hex');
    expect(signature).toBe(`sha256=${independent}`);
    expect(
      verifyAuditWebhookSignature({
        secret: SECRET,
        body: request!.rawBody,
        timestamp: request!.headers['x-audit-timestamp'],
        signature: request!.headers['x-audit-signature'],
      }),
    ).toBe(true);
    // The body as text verifies as well (non-ASCII included).
    expect(
      verifyAuditWebhookSignature({ secret: SECRET, body: request!.body, timestamp, signature }),
    ).toBe(true);
  });

  it('rejects a tampered body, a wrong secret, a stale or future timestamp and malformed headers', async () => {
    await createBuiltInNotifier('erp', config(), LOOPBACK).send(message(), sendContext());
    const [request] = await receiver.waitForRequests(1);
    const timestamp = header(request, 'x-audit-timestamp');
    const signature = header(request, 'x-audit-signature');
    const body = request!.body;
    const now = Number(timestamp) * 1000;
    const check = (overrides: object) =>
      verifyAuditWebhookSignature({
        secret: SECRET,
        body,
        timestamp,
        signature,
        now,
        ...overrides,
      });
    expect(check({})).toBe(true);
    expect(check({ body: body.replace('INV-7', 'INV-8') })).toBe(false);
    expect(check({ secret: 'another-secret-of-16+' })).toBe(false);
    expect(check({ secret: ['old-secret-0123456789', SECRET] })).toBe(true);
    expect(check({ now: now + 301_000 })).toBe(false);
    expect(check({ now: now - 301_000 })).toBe(false);
    expect(check({ now: now + 299_000 })).toBe(true);
    expect(check({ now: now + 3_000, toleranceSeconds: 2 })).toBe(false);
    // A replayed body under a fresh timestamp does not match the signature.
    expect(check({ timestamp: String(Number(timestamp) + 1) })).toBe(false);
    expect(check({ signature: signature.replace('sha256=', 'sha1=') })).toBe(false);
    expect(check({ signature: 'sha256=abc' })).toBe(false);
    expect(check({ signature: [signature, signature] })).toBe(false);
    expect(check({ timestamp: undefined })).toBe(false);
    expect(check({ timestamp: '1e9' })).toBe(false);
    expect(check({ signature: signature.toUpperCase().replace('SHA256=', 'sha256=') })).toBe(true);
  });

  it('configured headers are sent but cannot override the notifier’s own', async () => {
    const notifier = new WebhookNotifier(
      config({
        headers: {
          Authorization: 'Bearer erp-token',
          'X-Audit-Signature': 'sha256=forged',
          'x-audit-timestamp': '1',
          'X-AUDIT-ALARM-ID': 'forged',
          'Content-Type': 'text/plain',
        },
      }),
      'erp',
      LOOPBACK,
    );
    await notifier.send(message(), sendContext());
    const [request] = await receiver.waitForRequests(1);
    expect(header(request, 'authorization')).toBe('Bearer erp-token');
    expect(header(request, 'content-type')).toBe('application/json');
    expect(header(request, 'x-audit-alarm-id')).toBe('invoice-void:erp:evt-1');
    expect(header(request, 'x-audit-signature')).not.toBe('sha256=forged');
    expect(
      verifyAuditWebhookSignature({
        secret: SECRET,
        body: request!.rawBody,
        timestamp: request!.headers['x-audit-timestamp'],
        signature: request!.headers['x-audit-signature'],
      }),
    ).toBe(true);
  });

  it('retries a 500, and the receiver sees the alarm exactly once after recovery', async () => {
    receiver.respondWith({ status: 500, body: 'db down' }, { status: 503 });
    const notifier = createBuiltInNotifier('erp', config(), LOOPBACK);
    const first = await deliveryFailure(notifier.send(message(), sendContext()));
    expect(first.permanent).toBe(false);
    expect(first.statusCode).toBe(500);
    expect(first.retryAfterMs).toBeUndefined();
    expect(first.message).toContain('HTTP 500 Internal Server Error ("db down")');
    expect(first.message).toContain(`${receiver.url}/hooks/audit?…`);
    const second = await deliveryFailure(notifier.send(message(), sendContext()));
    expect(second.statusCode).toBe(503);
    await notifier.send(message(), sendContext());
    expect(receiver.requests).toHaveLength(3);
    const accepted = receiver.accepted();
    expect(accepted).toHaveLength(1);
    expect(receiver.uniqueByAlarmId()).toHaveLength(1);
  });

  it('reads Retry-After of a 429 in seconds and as an HTTP date', async () => {
    const notifier = createBuiltInNotifier('erp', config(), LOOPBACK);
    receiver.respondWith({ status: 429, headers: { 'retry-after': '7' } });
    const seconds = await deliveryFailure(notifier.send(message(), sendContext()));
    expect(seconds.permanent).toBe(false);
    expect(seconds.statusCode).toBe(429);
    expect(seconds.retryAfterMs).toBe(7000);
    expect(seconds.message).toContain('retried after 7 s');

    const at = new Date(Date.now() + 120_000).toUTCString();
    receiver.respondWith({ status: 429, headers: { 'retry-after': at } });
    // Read against the clock when the answer came, somewhere between these two readings.
    const before = Date.now();
    const date = await deliveryFailure(notifier.send(message(), sendContext()));
    const after = Date.now();
    expect(date.retryAfterMs).toBeGreaterThanOrEqual(Date.parse(at) - after);
    expect(date.retryAfterMs).toBeLessThanOrEqual(Date.parse(at) - before);

    receiver.respondWith({ status: 429, headers: { 'retry-after': '999999' } });
    const capped = await deliveryFailure(notifier.send(message(), sendContext()));
    expect(capped.retryAfterMs).toBe(MAX_RETRY_AFTER_MS);
  });

  it('parses Retry-After values', () => {
    const now = Date.parse('2026-03-14T10:00:00Z');
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 30 ', now)).toBe(30_000);
    expect(parseRetryAfter('Sat, 14 Mar 2026 10:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Sat, 14 Mar 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('gives up on a receiver that hangs, within timeoutMs', async () => {
    receiver.respondWith({ hang: true });
    const { value: error, order } = await betweenMarkers(
      299,
      () =>
        deliveryFailure(
          createBuiltInNotifier('erp', config(), LOOPBACK).send(message(), sendContext(300)),
        ),
      2000,
    );
    // Not before its timeout, and on it rather than on a longer timer.
    expect(order).toEqual({ early: true, late: false });
    expect(error.permanent).toBe(false);
    expect(error.message).toContain('did not answer within 300 ms');
    // The receiver had the request and never answered; the client hung up on it.
    expect(receiver.requests).toHaveLength(1);
    await until(() => receiver.requests[0]?.abandoned === true);
    expect(receiver.requests[0]?.status).toBeUndefined();
  });

  it('retries when the connection is cut without an answer', async () => {
    receiver.respondWith({ hangUp: true });
    const error = await deliveryFailure(
      createBuiltInNotifier('erp', config(), LOOPBACK).send(message(), sendContext()),
    );
    expect(error.permanent).toBe(false);
    expect(error.statusCode).toBeUndefined();
    expect(error.message).toContain('Could not reach Webhook channel "erp"');
  });

  it('does not follow a 302 and fails for good', async () => {
    receiver.respondWith({ status: 302, headers: { location: '/elsewhere' } });
    const error = await deliveryFailure(
      createBuiltInNotifier('erp', config(), LOOPBACK).send(message(), sendContext()),
    );
    expect(error.permanent).toBe(true);
    expect(error.statusCode).toBe(302);
    expect(error.message).toContain(`redirect (HTTP 302 Found) to ${receiver.url}/…`);
    expect(error.message).toContain('set alarms.channels.erp.url to the final URL');
    // Following it would mean a second request, answered by this receiver before the send could
    // settle: it would be recorded by now.
    expect(receiver.requests.map((r) => r.path)).toEqual(['/hooks/audit?tenant=acme']);
  });

  it('fails for good on other 4xx answers, and retries 408 and 425', async () => {
    const notifier = createBuiltInNotifier('erp', config(), LOOPBACK);
    receiver.respondWith(
      { status: 400, body: '{"error":"unknown rule"}' },
      { status: 408 },
      { status: 425 },
    );
    const bad = await deliveryFailure(notifier.send(message(), sendContext()));
    expect(bad.permanent).toBe(true);
    expect(bad.statusCode).toBe(400);
    expect(bad.message).toContain('unknown rule');
    expect((await deliveryFailure(notifier.send(message(), sendContext()))).permanent).toBe(false);
    expect((await deliveryFailure(notifier.send(message(), sendContext()))).permanent).toBe(false);
  });

  it('stops at once when the dispatcher aborts the attempt', async () => {
    receiver.respondWith({ hang: true });
    const controller = new AbortController();
    const sending = deliveryFailure(
      createBuiltInNotifier('erp', config(), LOOPBACK).send(message(), {
        signal: controller.signal,
        attempt: 2,
        // An hour: only the abort can end this attempt.
        timeoutMs: 3_600_000,
      }),
    );
    const watched = settlement(sending);
    // Aborted while the receiver holds the request.
    await until(() => receiver.requests.length === 1);
    controller.abort(new Error('application shutdown'));
    // At once: within the turn of the event loop that aborted it.
    await turn();
    expect(watched.settled).toBe(true);
    const error = await sending;
    expect(error.permanent).toBe(false);
    expect(error.message).toContain('was cancelled (application shutdown)');
    await until(() => receiver.requests[0]?.abandoned === true);
  });
});
