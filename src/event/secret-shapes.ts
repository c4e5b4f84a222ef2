/**
 * Finds secrets by the shape of a value, whatever key holds it: JWTs, `Bearer`/`Basic`
 * credentials, PEM private keys, passwords in URLs, Luhn-valid card numbers and well-known
 * cloud key formats. Hand-written scans instead of one regex on purpose: each pass is linear in
 * the text (no backtracking), and a cheap precheck skips the common short, plain strings.
 */

/** What a secret found by shape is replaced with (only the matched part). */
export const SHAPE_REDACTED = '[REDACTED]';

// Shortest shape worth scanning for ("Basic " + 8 characters).
const MIN_LENGTH = 12;
// Characters a token-like secret (JWT, cloud key) is made of.
const KEY_PREFIXES: readonly (readonly [string, RegExp])[] = [
  ['AKIA', /^AKIA[A-Z0-9]{16}$/],
  ['ASIA', /^ASIA[A-Z0-9]{16}$/],
  ['ghp_', /^ghp_[A-Za-z0-9]{30,}$/],
  ['gho_', /^gho_[A-Za-z0-9]{30,}$/],
  ['ghu_', /^ghu_[A-Za-z0-9]{30,}$/],
  ['ghs_', /^ghs_[A-Za-z0-9]{30,}$/],
  ['ghr_', /^ghr_[A-Za-z0-9]{30,}$/],
  ['github_pat_', /^github_pat_[A-Za-z0-9_]{20,}$/],
  ['xox', /^xox[abprs]-[A-Za-z0-9-]{10,}$/],
  ['AIza', /^AIza[A-Za-z0-9_-]{35}$/],
  ['sk_live_', /^sk_live_[A-Za-z0-9]{16,}$/],
  ['rk_live_', /^rk_live_[A-Za-z0-9]{16,}$/],
  ['sk_test_', /^sk_test_[A-Za-z0-9]{16,}$/],
  ['eyJ', /^eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*$/],
];

interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * The text with every secret found by shape replaced by {@link SHAPE_REDACTED}, keeping what
 * frames it (`Bearer [REDACTED]`, `postgres://user:[REDACTED]@host`). The same string when
 * nothing is found, so callers can compare by identity.
 *
 * @param text - any string (a state value, a message, an error text)
 */
export function scrubSecretShapes(text: string): string {
  if (text.length < MIN_LENGTH || !mayHoldShape(text)) return text;
  const spans: Span[] = [];
  findAuthSchemes(text, spans);
  findUrlPasswords(text, spans);
  findPemKeys(text, spans);
  findTokens(text, spans);
  findCards(text, spans);
  return spans.length === 0 ? text : replaceSpans(text, spans);
}

// What a character means to mayHoldShape:
/** Ends a digit run and starts no shape. */
const PLAIN = 0;
/** A decimal digit. */
const DIGIT = 1;
/** Space: a digit run goes on across it. */
const RUN_SEPARATOR = 2;
/** May begin (or, `_`, end the prefix of) a shape: {@link startsShapeAt} decides. */
const CANDIDATE = 3;

/** What each ASCII character is (see above); characters above ASCII are plain. */
const GLYPHS = new Uint8Array(128);
for (let c = 48; c <= 57; c += 1) GLYPHS[c] = DIGIT;
GLYPHS[32] = RUN_SEPARATOR;
for (const candidate of ':-_xeAbBtT') GLYPHS[candidate.charCodeAt(0)] = CANDIDATE;

/**
 * One pass over the characters: could a shape start here? Each test below is the first step of
 * one scan, so plain words, numbers, ids, ISO times and UUIDs are answered here without any regex
 * or allocation (they hold ':' and '-', which alone prove nothing). A table says what each
 * character is, so the common plain letter costs one lookup.
 */
function mayHoldShape(text: string): boolean {
  // Digits of a card-like run: digits that only spaces and dashes separate.
  let run = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    const glyph = c < 128 ? GLYPHS[c] : PLAIN;
    if (glyph === DIGIT) {
      if (++run >= 13) return true;
    } else if (glyph === PLAIN) {
      run = 0;
    } else if (glyph === CANDIDATE) {
      // A dash separates digit runs like a space and may also open PEM armour.
      if (c !== 45) run = 0;
      if (startsShapeAt(text, i, c)) return true;
    }
  }
  return false;
}

/**
 * Whether the character `c` at `i` begins (or, for `_`, ends the prefix of) a shape. Letters that
 * are common in prose (`e`, `t`, `b`, `x`, `A`) first compare the next character, so that plain
 * text does not pay a string search per letter.
 */
function startsShapeAt(text: string, i: number, c: number): boolean {
  switch (c) {
    case 58 /* : */:
      return text.charCodeAt(i + 1) === 47 && text.charCodeAt(i + 2) === 47; // scheme://user:password@host
    case 45 /* - */:
      return text.startsWith('----', i + 1); // PEM armour
    case 95 /* _ */:
      // ghp_ gho_ ghu_ ghs_ ghr_, github_pat_, sk_live_ rk_live_ sk_test_
      return (
        text.startsWith('gh', i - 3) || text.startsWith('github', i - 6) || isStripeAt(text, i)
      );
    case 120 /* x */:
      return text.charCodeAt(i + 1) === 111 && text.charCodeAt(i + 2) === 120; // Slack xox?-
    case 101 /* e */:
      return text.charCodeAt(i + 1) === 121 && text.charCodeAt(i + 2) === 74; // JWT (eyJ)
    case 65 /* A */:
      return startsCloudKeyAt(text, i);
    default: {
      const lower = c | 32;
      if (lower === 98 /* b */) {
        const next = text.charCodeAt(i + 1) | 32;
        return (
          (next === 101 && hasWordAt(text, i + 1, 'earer')) ||
          (next === 97 && hasWordAt(text, i + 1, 'asic'))
        );
      }
      return (
        lower === 116 /* t */ &&
        (text.charCodeAt(i + 1) | 32) === 111 &&
        hasWordAt(text, i + 1, 'oken')
      );
    }
  }
}

/** AKIA, ASIA (AWS) or AIza (Google) at `i`, where an `A` is. */
function startsCloudKeyAt(text: string, i: number): boolean {
  const next = text.charCodeAt(i + 1);
  if (next === 75 /* K */ || next === 83 /* S */) {
    return text.charCodeAt(i + 2) === 73 /* I */ && text.charCodeAt(i + 3) === 65; /* A */
  }
  return next === 73 /* I */ && text.charCodeAt(i + 2) === 122 && text.charCodeAt(i + 3) === 97; // za
}

function isStripeAt(text: string, underscore: number): boolean {
  const key = text.charCodeAt(underscore - 2);
  return text.charCodeAt(underscore - 1) === 107 /* k */ && (key === 115 || key === 114); // s, r
}

function findAuthSchemes(text: string, spans: Span[]): void {
  // Anchored scheme word, then one run of credential characters: no nested quantifier.
  const scheme = /\b(?:Bearer|Basic|Token)[ \t]+([A-Za-z0-9._~+/=-]{8,})/gi;
  for (const match of text.matchAll(scheme)) {
    const credential = match[1] as string;
    const end = (match.index ?? 0) + match[0].length;
    spans.push({ start: end - credential.length, end });
  }
}

function findUrlPasswords(text: string, spans: Span[]): void {
  let from = 0;
  for (;;) {
    const at = text.indexOf('://', from);
    if (at < 0) return;
    from = at + 3;
    let colon = -1;
    // The user-info ends at the first '/', '?', '#', space or '@': scans never overlap.
    for (let i = from; i < text.length; i += 1) {
      const c = text[i] as string;
      if (c === '/' || c === '?' || c === '#' || c === ' ' || c === '\n') break;
      if (c === ':' && colon < 0) colon = i;
      if (c === '@') {
        if (colon >= 0 && i > colon + 1) spans.push({ start: colon + 1, end: i });
        from = i + 1;
        break;
      }
    }
  }
}

function findPemKeys(text: string, spans: Span[]): void {
  let from = 0;
  for (;;) {
    const begin = text.indexOf('-----BEGIN ', from);
    if (begin < 0) return;
    const headerEnd = text.indexOf('-----', begin + 11);
    if (headerEnd < 0) return;
    from = headerEnd + 5;
    if (!text.slice(begin, headerEnd).endsWith('PRIVATE KEY')) continue;
    const end = text.indexOf('-----END ', from);
    const close = end < 0 ? -1 : text.indexOf('-----', end + 9);
    const stop = close < 0 ? text.length : close + 5;
    spans.push({ start: from, end: end < 0 ? stop : end });
    from = stop;
  }
}

function findTokens(text: string, spans: Span[]): void {
  let i = 0;
  while (i < text.length) {
    if (!isTokenChar(text, i)) {
      i += 1;
      continue;
    }
    const start = i;
    while (i < text.length && isTokenChar(text, i)) i += 1;
    if (i - start < 16) continue;
    const token = text.slice(start, i);
    for (const [prefix, shape] of KEY_PREFIXES) {
      if (token.startsWith(prefix) && shape.test(token)) {
        spans.push({ start, end: i });
        break;
      }
    }
  }
}

function findCards(text: string, spans: Span[]): void {
  let i = 0;
  while (i < text.length) {
    if (!isDigit(text, i) || (i > 0 && isWordChar(text, i - 1))) {
      i += 1;
      continue;
    }
    const start = i;
    let digits = '';
    let end = i;
    // Digits, each group separated by one space or dash.
    while (i < text.length) {
      if (isDigit(text, i)) {
        digits += text[i];
        i += 1;
        end = i;
      } else if ((text[i] === ' ' || text[i] === '-') && isDigit(text, i + 1)) {
        i += 1;
      } else break;
    }
    if (isWordChar(text, end)) continue;
    if (digits.length >= 13 && digits.length <= 19 && isCardNumber(digits)) {
      spans.push({ start, end });
    }
  }
}

/**
 * Whether a digit string is a payment card number: a card network's first digit (2 to 6, so
 * millisecond timestamps and most phone numbers are not taken) and a valid Luhn check digit.
 *
 * @param digits - 13 to 19 decimal digits
 */
export function isCardNumber(digits: string): boolean {
  const first = digits.charCodeAt(0) - 48;
  if (first < 2 || first > 6) return false;
  let sum = 0;
  for (let k = 0; k < digits.length; k += 1) {
    let d = digits.charCodeAt(digits.length - 1 - k) - 48;
    if (k % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Whether `word` (lower case) is at `at`, in any case, followed by a space or tab. */
function hasWordAt(text: string, at: number, word: string): boolean {
  for (let k = 0; k < word.length; k += 1) {
    if ((text.charCodeAt(at + k) | 32) !== word.charCodeAt(k)) return false;
  }
  const next = text.charCodeAt(at + word.length);
  return next === 32 || next === 9;
}

function isDigit(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c >= 48 && c <= 57;
}

function isWordChar(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

// Characters a token-like secret (JWT, cloud key) is made of.
function isTokenChar(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return isWordChar(text, i) || c === 45 || c === 46;
}

function replaceSpans(text: string, spans: Span[]): string {
  spans.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const span of spans) {
    if (span.end <= at) continue;
    out += text.slice(at, Math.max(at, span.start)) + SHAPE_REDACTED;
    at = span.end;
  }
  return out + text.slice(at);
}
