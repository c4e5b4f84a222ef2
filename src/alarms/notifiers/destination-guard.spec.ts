import { HttpReceiver } from '../../../test/utils/http-receiver';
import { AlarmDeliveryError } from './alarm-notifier';
import {
  destinationPolicy,
  nonPublicRange,
  refusedAddress,
  refusedUrlHost,
  type DestinationPolicy,
} from './destination-guard';
import { postJson } from './http-post';

const policy = (value: boolean | string[]): DestinationPolicy =>
  destinationPolicy(value) as DestinationPolicy;

describe('nonPublicRange', () => {
  it.each([
    ['0.0.0.0', 'this-network'],
    ['0.1.2.3', 'this-network'],
    ['10.0.0.1', 'private (10.0.0.0/8)'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.254', 'carrier-grade NAT'],
    ['127.0.0.1', 'loopback'],
    ['127.255.1.2', 'loopback'],
    ['169.254.169.254', 'cloud metadata'],
    ['172.16.0.1', 'private (172.16.0.0/12)'],
    ['172.31.255.255', 'private (172.16.0.0/12)'],
    ['192.168.1.1', 'private (192.168.0.0/16)'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::', 'unspecified'],
    ['::1', 'loopback (::1)'],
    ['[::1]', 'loopback (::1)'],
    ['fd00::1', 'unique-local'],
    ['fc12::1', 'unique-local'],
    ['fe80::1', 'link-local (fe80::/10)'],
    ['febf::1', 'link-local (fe80::/10)'],
    ['ff02::1', 'multicast'],
    ['::ffff:10.0.0.1', 'private (10.0.0.0/8)'],
    ['::ffff:a00:1', 'private (10.0.0.0/8)'],
    ['::ffff:127.0.0.1', 'loopback (127.0.0.0/8)'],
    ['::ffff:169.254.169.254', 'cloud metadata'],
    ['metadata.google.internal', 'not an IP address'],
  ])('%s is %s', (address, range) => {
    expect(nonPublicRange(address)).toContain(range);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '100.63.255.255',
    '100.128.0.1',
    '172.15.0.1',
    '172.32.0.1',
    '192.167.1.1',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8',
    '2a00:1450::1',
  ])('%s is public', (address) => {
    expect(nonPublicRange(address)).toBeUndefined();
  });
});

describe('refusedAddress / refusedUrlHost', () => {
  it('allows what is listed and nothing else', () => {
    const listed = policy(['10.20.0.0/16', 'fd00::/8', '192.168.1.7', 'relay.internal']);
    expect(refusedAddress('10.20.9.9', listed)).toBeUndefined();
    expect(refusedAddress('::ffff:10.20.9.9', listed)).toBeUndefined();
    expect(refusedAddress('fd00::5', listed)).toBeUndefined();
    expect(refusedAddress('192.168.1.7', listed)).toBeUndefined();
    expect(refusedAddress('192.168.1.8', listed)).toContain('private');
    expect(refusedAddress('10.21.0.1', listed)).toContain('private');
    expect(refusedAddress('127.0.0.1', policy(true))).toBeUndefined();
    expect(refusedUrlHost(new URL('http://relay.internal/x'), listed)).toBeUndefined();
    expect(refusedUrlHost(new URL('http://other.internal/x'), listed)).toBe('internal host name');
    expect(refusedUrlHost(new URL('http://metadata.google.internal/'), policy(false))).toBe(
      'internal host name',
    );
    expect(refusedUrlHost(new URL('http://LOCALHOST./'), policy(false))).toBe('internal host name');
    expect(refusedUrlHost(new URL('http://[::ffff:a9fe:a9fe]/'), policy(false))).toContain(
      'cloud metadata',
    );
    expect(refusedUrlHost(new URL('https://hooks.slack.com/x'), policy(false))).toBeUndefined();
  });

  it('refuses malformed allow-list entries', () => {
    expect(destinationPolicy(['10.0.0.0/33'])).toEqual({ invalid: '"10.0.0.0/33"' });
    expect(destinationPolicy(['10.0.0.0/8/1'])).toEqual({ invalid: '"10.0.0.0/8/1"' });
    expect(destinationPolicy(['not a host'])).toEqual({ invalid: '"not a host"' });
    expect(destinationPolicy([7 as unknown as string])).toEqual({ invalid: 'number entry' });
  });
});

describe('postJson destination guard (send time)', () => {
  let receiver: HttpReceiver;
  beforeEach(async () => {
    receiver = await HttpReceiver.start();
  });
  afterEach(async () => {
    await receiver.close();
  });

  const context = () => ({ signal: new AbortController().signal, timeoutMs: 5000, attempt: 1 });
  function target(url: string, destinations?: DestinationPolicy) {
    return {
      url,
      displayUrl: url,
      label: 'Webhook channel "erp"',
      urlOption: 'alarms.channels.erp.url',
      ...(destinations ? { destinations } : {}),
    };
  }

  it('refuses a name that resolves to loopback, for good, without connecting', async () => {
    const url = receiver.url.replace('127.0.0.1', 'localhost');
    // Listing the name lets it pass the name check; its addresses are still checked.
    const error = await postJson(target(url, policy(['localhost'])), '{}', {}, context()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AlarmDeliveryError);
    expect((error as AlarmDeliveryError).permanent).toBe(true);
    expect((error as AlarmDeliveryError).message).toMatch(
      /was not contacted: localhost resolves to .*, a loopback .*alarms\.allowPrivateNetworks/,
    );
    const literal = await postJson(target(receiver.url), '{}', {}, context()).then(
      () => undefined,
      (e: unknown) => e as AlarmDeliveryError,
    );
    expect(literal?.permanent).toBe(true);
    expect(receiver.requests).toHaveLength(0);
  });

  it('delivers to the same name and address once they are allowed', async () => {
    const url = receiver.url.replace('127.0.0.1', 'localhost');
    await postJson(target(url, policy(['localhost', '127.0.0.1', '::1'])), '{}', {}, context());
    await postJson(target(receiver.url, policy(['127.0.0.0/8', '::1'])), '{}', {}, context());
    await postJson(target(url, policy(true)), '{}', {}, context());
    expect(receiver.requests).toHaveLength(3);
  });
});
