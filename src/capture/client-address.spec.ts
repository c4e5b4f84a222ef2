import { clientAddress, compileTrustProxy, validIp } from './client-address';
import { requestSource } from './request-facts';

const behindProxy = (forwarded: string, peer = '127.0.0.1') => ({
  headers: { 'x-forwarded-for': forwarded },
  socket: { remoteAddress: peer },
});

describe('client address', () => {
  it('walks X-Forwarded-For from the socket in every Express form of trustProxy', () => {
    const req = behindProxy('6.6.6.6, 203.0.113.9, 10.0.0.2', '10.0.0.1');
    expect(clientAddress(req, compileTrustProxy(1))).toBe('10.0.0.2');
    expect(clientAddress(req, compileTrustProxy(2))).toBe('203.0.113.9');
    expect(clientAddress(req, compileTrustProxy('10.0.0.0/8'))).toBe('203.0.113.9');
    expect(clientAddress(req, compileTrustProxy(['10.0.0.1', '10.0.0.2']))).toBe('203.0.113.9');
    expect(
      clientAddress(
        req,
        compileTrustProxy((addr) => addr.startsWith('10.')),
      ),
    ).toBe('203.0.113.9');
    expect(clientAddress(req, compileTrustProxy(false))).toBe('10.0.0.1');
    // `true` trusts every hop: the leftmost address, the one a client can forge.
    expect(clientAddress(req, compileTrustProxy(true))).toBe('6.6.6.6');
  });

  it('follows the platform req.ip when the option is unset, and never returns a non-address', () => {
    expect(clientAddress({ ...behindProxy('6.6.6.6'), ip: '203.0.113.9' }, undefined)).toBe(
      '203.0.113.9',
    );
    expect(
      clientAddress({ ...behindProxy('x'), ip: 'trusted-vpn-gateway (alice)' }, undefined),
    ).toBeUndefined();
    expect(clientAddress(behindProxy('6.6.6.6'), undefined)).toBe('127.0.0.1');
    expect(
      clientAddress(behindProxy('trusted-vpn-gateway (alice)'), compileTrustProxy(1)),
    ).toBeUndefined();
  });

  it('stores IPv4-mapped IPv6 as plain IPv4 and keeps real IPv6', () => {
    expect(validIp('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(validIp('2001:db8::1')).toBe('2001:db8::1');
    expect(validIp('203.0.113.9\r\n')).toBeUndefined();
  });

  it('refuses a negative hop count or a name that is not an address', () => {
    expect(() => compileTrustProxy(-1)).toThrow(/hop count/);
    expect(() => compileTrustProxy(['gateway'])).toThrow();
  });

  it('records the event without an address when the trust function throws', () => {
    const source = requestSource(behindProxy('6.6.6.6'), () => {
      throw new Error('boom');
    });
    expect(source.ip).toBeUndefined();
  });
});
