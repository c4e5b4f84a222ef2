import { AuditConfigurationError } from './common/audit-configuration.error';
import { optionChecker, type OptionChecker } from './common/option-checks';

/**
 * The checks of the options of `AuditModule.forRoot()` and of everything nested in them (`api`,
 * `alarms`, channels, `privacy`): each failure throws an {@link AuditConfigurationError} reading
 * `nestjs-audit: option "<path>" <problem>. <fix>`.
 */
export const auditOptionChecks: OptionChecker = optionChecker({
  error: AuditConfigurationError,
  message: (option, problem, fix) =>
    `nestjs-audit: option "${option}" ${problem}.${fix === '' ? '' : ` ${fix}`}`,
  useDefault: (fallback) => `Remove it to use the default ${fallback}.`,
});
