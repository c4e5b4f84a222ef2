import { AuditConfigurationError } from '../common/audit-configuration.error';
import { resolveAuditOptions } from './resolve-audit-options';
import { InMemoryAuditStore } from '../stores/memory/memory-audit.store';

describe('resolveAuditOptions', () => {
  afterEach(() => {
    delete process.env.AUDIT_SERVICE_NAME;
  });

  it('fills every default', () => {
    const resolved = resolveAuditOptions(undefined);
    expect(resolved).toMatchObject({
      store: './audit.db',
      stream: { kind: 'auto' },
      interceptor: true,
      scope: 'mutations',
      exclude: [],
      trustProxy: undefined,
      trustRequestId: false,
      redact: [],
      maxValueBytes: 65536,
      maxEventBytes: 262144,
      requestIdHeader: 'x-request-id',
      maxBatch: 100,
    });
  });

  it('takes the service name from the option, then AUDIT_SERVICE_NAME, then package.json', () => {
    expect(resolveAuditOptions({}).serviceName).toBe('nestjs-audit');
    process.env.AUDIT_SERVICE_NAME = 'from-env';
    expect(resolveAuditOptions({}).serviceName).toBe('from-env');
    expect(resolveAuditOptions({ serviceName: 'explicit' }).serviceName).toBe('explicit');
  });

  it('maps stream values', () => {
    const sink = { write: () => true };
    expect(resolveAuditOptions({ stream: false }).stream).toEqual({ kind: 'off' });
    expect(resolveAuditOptions({ stream: true }).stream).toEqual({ kind: 'auto' });
    expect(resolveAuditOptions({ stream: 'stdout' }).stream).toEqual({
      kind: 'destination',
      destination: 'stdout',
    });
    expect(resolveAuditOptions({ stream: sink }).stream).toEqual({
      kind: 'destination',
      destination: sink,
    });
  });

  it('accepts a store instance and a factory', () => {
    const store = new InMemoryAuditStore();
    expect(resolveAuditOptions({ store }).store).toBe(store);
    const factory = () => store;
    expect(resolveAuditOptions({ store: factory }).store).toBe(factory);
  });

  it.each([
    [[], /expects an options object/],
    [{ scope: 'some' }, /"scope" must be one of/],
    [{ interceptor: 'yes' }, /"interceptor" must be true or false/],
    [{ trustProxy: -1 }, /"trustProxy" is invalid \(a hop count must be an integer >= 0\)/],
    [{ trustProxy: ['gateway'] }, /"trustProxy" is invalid/],
    [{ trustRequestId: 'yes' }, /"trustRequestId" must be true or false/],
    [{ serviceName: 'has space' }, /"serviceName" must be 1-100 characters/],
    [{ stream: 42 }, /"stream" must be false/],
    [{ stream: '' }, /"stream" is an empty string/],
    [{ exclude: '/health' }, /"exclude" must be an array/],
    [{ exclude: [42] }, /"exclude\[0\]"/],
    [{ redact: ['a..b'] }, /"redact" has an invalid entry/],
    [{ requestIdHeader: 'x request' }, /"requestIdHeader" must be a header name/],
    [{ maxValueBytes: 1.5 }, /"maxValueBytes" must be a whole number/],
    [
      { maxValueBytes: 100_000, maxEventBytes: 50_000 },
      /"maxEventBytes" \(50000\) is smaller than maxValueBytes/,
    ],
    [{ maxBatch: 0 }, /"maxBatch" must be a whole number of at least 1/],
    [{ tenant: 'x-tenant' }, /"tenant" must be a function/],
    // Values JSON cannot write are described, not handed to JSON.stringify (which throws).
    [{ scope: 1n }, /"scope" must be one of .* \(got 1n\)/],
    [{ serviceName: 1n }, /"serviceName" must be 1-100 characters.* \(got 1n\)/],
    [{ exclude: [1n] }, /"exclude\[0\]" must be a path starting with "\/" or a RegExp \(got 1n\)/],
    [{ requestIdHeader: 1n }, /"requestIdHeader" must be a header name \(got 1n\)/],
    [
      { arrayIdentityKeys: [1n] },
      /"arrayIdentityKeys" must be a non-empty array .* \(got an array of 1 items\)/,
    ],
  ])('rejects %p', (input, message) => {
    expect(() => resolveAuditOptions(input as never)).toThrow(AuditConfigurationError);
    expect(() => resolveAuditOptions(input as never)).toThrow(message);
  });
});

describe('option fileMode', () => {
  it('defaults to the owner alone and takes a group-readable mode', () => {
    expect(resolveAuditOptions(undefined).fileMode).toBe(0o600);
    expect(resolveAuditOptions({ fileMode: 0o640 }).fileMode).toBe(0o640);
  });

  it('refuses permissions that let other users write, or keep the owner out, with the fix', () => {
    expect(() => resolveAuditOptions({ fileMode: 0o666 })).toThrow(AuditConfigurationError);
    expect(() => resolveAuditOptions({ fileMode: 0o666 })).toThrow(
      /option "fileMode" is invalid: 0o666 lets other users change the audit trail.*Remove it for 0o600/,
    );
    expect(() => resolveAuditOptions({ fileMode: 0o440 })).toThrow(/does not let the owner/);
    expect(() => resolveAuditOptions({ fileMode: '0600' as never })).toThrow(
      /expected permission bits such as 0o600/,
    );
    // Values JSON cannot write are described, not handed to JSON.stringify (which throws).
    expect(() => resolveAuditOptions({ fileMode: 0o600n as never })).toThrow(
      AuditConfigurationError,
    );
    expect(() => resolveAuditOptions({ fileMode: 0o600n as never })).toThrow(
      /option "fileMode" is invalid: expected permission bits such as 0o600 or 0o640, got 384n/,
    );
  });
});

describe('option privacy', () => {
  it('is off by default and when nothing in it is on', () => {
    expect(resolveAuditOptions(undefined).privacy).toBeUndefined();
    expect(resolveAuditOptions({ privacy: { truncateIp: false } }).privacy).toBeUndefined();
  });

  it('resolves to the privacy the build applies', () => {
    const { privacy } = resolveAuditOptions({
      privacy: { key: 'k'.repeat(32), pseudonymize: ['actor.id'], truncateIp: { v4: 16 } },
    });
    expect(privacy?.pseudonymOf('42')).toMatch(/^hmac:[A-Za-z0-9_-]{22}$/);
    expect(privacy?.ipPrefixes).toEqual({ v4: 16, v6: 48 });
  });

  it('stops the boot with the fix when the key is missing or short', () => {
    expect(() => resolveAuditOptions({ privacy: { pseudonymize: true } })).toThrow(
      AuditConfigurationError,
    );
    expect(() => resolveAuditOptions({ privacy: { hashFields: ['phone'], key: 'x' } })).toThrow(
      /"privacy\.key" is too short \(1 byte; at least 32 are needed\)\. Generate one with/,
    );
  });
});
