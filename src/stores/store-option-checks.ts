import { optionChecker, type OptionChecker } from '../common/option-checks';
import { AuditConfigurationError } from '../common/audit-configuration.error';

/**
 * The option checks of one store, throwing an AuditConfigurationError that reads
 * `Invalid <Store> option "<name>": expected <form>, got <value>.` (an unknown key:
 * `Unknown <Store> option "<key>". Known options: <keys>.`).
 *
 * @param store - the store class's name, e.g. `SqliteAuditStore`
 */
export function storeOptionChecks(store: string): OptionChecker {
  return optionChecker({
    error: AuditConfigurationError,
    message: (option, problem, fix) =>
      `Invalid ${store} option "${option}": ${problem}${fix === '' ? '' : `; ${fix}`}.`,
    mismatch: (expected, given) => `expected ${expected}, got ${given}`,
    unknownKey: (key, known) =>
      `Unknown ${store} option "${key}". Known options: ${known.join(', ')}.`,
  });
}
