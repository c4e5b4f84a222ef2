import { AuditConfigurationError } from '../common/audit-configuration.error';
import { resolveAlarmOptions } from './alarm-config';
import { DEFAULT_MAX_OPEN_WINDOWS } from './threshold-windows';

describe('resolveAlarmOptions: maxOpenWindowsPerRule', () => {
  it('defaults to 10,000 open windows per rule and takes any whole number from 1', () => {
    expect(resolveAlarmOptions({})?.maxOpenWindowsPerRule).toBe(DEFAULT_MAX_OPEN_WINDOWS);
    expect(DEFAULT_MAX_OPEN_WINDOWS).toBe(10_000);
    expect(resolveAlarmOptions({ maxOpenWindowsPerRule: 1 })?.maxOpenWindowsPerRule).toBe(1);
    expect(resolveAlarmOptions({ maxOpenWindowsPerRule: 250_000 })?.maxOpenWindowsPerRule).toBe(
      250_000,
    );
  });

  it.each([0, -1, 1.5, Number.NaN, '100', 10_000_001])(
    'rejects %p, saying how to fix it',
    (bad) => {
      const resolve = () => resolveAlarmOptions({ maxOpenWindowsPerRule: bad });
      expect(resolve).toThrow(AuditConfigurationError);
      expect(resolve).toThrow(
        /option "alarms.maxOpenWindowsPerRule" must be a whole number from 1 to 10000000 \(got .*\)\. Remove it to use the default 10000\./,
      );
    },
  );
});
