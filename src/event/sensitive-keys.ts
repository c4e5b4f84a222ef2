/**
 * The built-in vocabulary of secret key names, and the one form keys are compared in. Keys are
 * matched, not values: the key names an application uses for secrets are predictable, values
 * are not.
 */

/**
 * A key is sensitive when its normalised form contains one of these
 * (so `refresh_token`, `X-API-Key` and `clientSecret` all match).
 */
export const BUILT_IN_SENSITIVE_FRAGMENTS: readonly string[] = Object.freeze([
  'password',
  'passwd',
  'secret',
  'token',
  'authorization',
  'cookie',
  'apikey',
  'privatekey',
  'creditcard',
  'cardnumber',
  'accesskey',
  'sessionid',
  'sessionkey',
  'credential',
  'passphrase',
  'passcode',
  'privkey',
  'signingkey',
  'encryptionkey',
  'recoverycode',
  'backupcode',
  'mfaseed',
  'totpseed',
  'seedphrase',
]);

/**
 * A key is sensitive when its normalised form is exactly one of these, or when one of the
 * words of the key is (see {@link keyWords}: `pinCode`, `otp_code`, `cvv2`, `mfa-seed`). They
 * are too short to match inside longer keys: `classname` contains `ssn`, `spinner` contains
 * `pin`, `passengers` contains `pass`; as words they do not.
 */
export const BUILT_IN_SENSITIVE_KEYS: readonly string[] = Object.freeze([
  'pw',
  'pwd',
  'pass',
  'cvv',
  'cvc',
  'cvn',
  'ssn',
  'pin',
  'otp',
  'totp',
  'iban',
  'jwt',
  'bearer',
  'seed',
]);

const BUILT_IN_EXACT = new Set(BUILT_IN_SENSITIVE_KEYS);
// Words of a key: an acronym run (`API` in `APIKey`), a capitalised or lower-case word, digits.
const WORD = /[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g;

/**
 * The words of a key in lower case, split at case changes, digits and separators:
 * `pinCode` -> `pin code`, `X-API-Key` -> `x api key`, `cvv2` -> `cvv 2`.
 *
 * @param key - a property name or path segment
 */
export function keyWords(key: string): string[] {
  return (key.match(WORD) ?? []).map((word) => word.toLowerCase());
}

/**
 * The form keys are compared in: lower case, with everything but `a-z` and `0-9` removed, so
 * `X-API-Key`, `x_api_key` and `xApiKey` are the same key.
 *
 * @param key - a property name or path segment
 */
export function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Whether the built-in vocabulary names this key (`normalized` is its {@link normalizeKey}). */
export function isBuiltInSensitive(normalized: string, key: string): boolean {
  if (BUILT_IN_EXACT.has(normalized)) return true;
  for (const fragment of BUILT_IN_SENSITIVE_FRAGMENTS) {
    if (normalized.includes(fragment)) return true;
  }
  for (const word of keyWords(key)) {
    if (BUILT_IN_EXACT.has(word)) return true;
  }
  return false;
}

/**
 * Whether the built-in denylist redacts the value under this key. For a redactor's own key
 * names too, use {@link Redactor.isSensitiveKey}.
 *
 * @param key - a property name, in any case or separator style
 */
export function isSensitiveKey(key: string): boolean {
  return isBuiltInSensitive(normalizeKey(key), key);
}
