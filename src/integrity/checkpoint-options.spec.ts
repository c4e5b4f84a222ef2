import { AuditConfigurationError } from '../common/audit-configuration.error';
import { resolveCheckpointOptions } from './checkpoint-options';

describe('resolveCheckpointOptions', () => {
  it('is off with false and takes the defaults with true or nothing', () => {
    expect(resolveCheckpointOptions(false)).toBe(false);
    expect(resolveCheckpointOptions(true)).toMatchObject({
      everyEvents: 1000,
      intervalMs: 60_000,
      keyId: 'default',
    });
  });

  it.each([
    [
      'x',
      'Invalid AuditModule option "checkpoints": use false, true, or an object such as { everyEvents: 1000, intervalMs: 60000 }.',
    ],
    [
      { every: 5 },
      'Invalid AuditModule option "checkpoints": unknown field "every" (known: everyEvents, intervalMs, file, signingKey, keyId).',
    ],
    [
      { everyEvents: 0 },
      'Invalid AuditModule option "checkpoints": "everyEvents" must be a whole number from 1 to 1000000000, got 0.',
    ],
    [
      { intervalMs: '1m' },
      'Invalid AuditModule option "checkpoints": "intervalMs" must be a whole number from 1 to 2147483647, got "1m".',
    ],
    [{ file: '' }, 'Invalid AuditModule option "checkpoints": "file" must be a path.'],
    [
      { keyId: 'a b' },
      'Invalid AuditModule option "checkpoints": "keyId" must be 1 to 64 letters, digits, ".", "_" or "-".',
    ],
  ])('rejects %p with the field and the fix', (raw, message) => {
    expect(() => resolveCheckpointOptions(raw)).toThrow(new AuditConfigurationError(message));
    expect(() => resolveCheckpointOptions(raw)).toThrow(AuditConfigurationError);
  });
});
