import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import {
  CIRCULAR_MARKER,
  MAX_DEPTH,
  MAX_DEPTH_MARKER,
  MAX_NODES,
  NODE_BUDGET_MARKER,
  capString,
  capValue,
  capValueMeasured,
  isAuditMarker,
  isBinaryMarker,
  isTruncatedMarker,
  jsonByteLength,
  sanitizeString,
  setJsonProperty,
  stringifyJson,
  toJsonSafe,
  truncatedMarker,
  unserializableMarker,
} from './serialize';
import { WalkBudget } from './walk-budget';

const sha256 = (data: string | Uint8Array): string =>
  createHash('sha256').update(data).digest('hex');

function nestArrays(levels: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i += 1) value = [value];
  return value;
}

function innermost(value: unknown): unknown {
  let current = value;
  while (Array.isArray(current)) current = current[0];
  return current;
}

describe('toJsonSafe', () => {
  describe('primitives', () => {
    it('keeps JSON primitives', () => {
      expect(toJsonSafe(null)).toBeNull();
      expect(toJsonSafe(true)).toBe(true);
      expect(toJsonSafe(42.5)).toBe(42.5);
      expect(toJsonSafe('text')).toBe('text');
    });

    it('turns non-finite numbers into null and -0 into 0', () => {
      expect(toJsonSafe([Number.NaN, Infinity, -Infinity])).toEqual([null, null, null]);
      expect(Object.is(toJsonSafe(-0), 0)).toBe(true);
    });

    it('turns a BigInt into its decimal string', () => {
      expect(toJsonSafe(12345678901234567890n)).toBe('12345678901234567890');
      expect(toJsonSafe({ n: -5n })).toEqual({ n: '-5' });
    });

    it('returns undefined for a root that has no JSON form, as JSON.stringify does', () => {
      expect(toJsonSafe(undefined)).toBeUndefined();
      expect(toJsonSafe(() => 1)).toBeUndefined();
      expect(toJsonSafe(Symbol('s'))).toBeUndefined();
    });

    it('omits undefined, functions and symbols in objects and nulls them in arrays', () => {
      const input = { a: undefined, f: () => 1, s: Symbol('s'), keep: 1 };
      expect(toJsonSafe(input)).toStrictEqual({ keep: 1 });
      expect(toJsonSafe([undefined, () => 1, Symbol('s')])).toStrictEqual([null, null, null]);
    });

    it('fills the holes of sparse arrays with null', () => {
      // eslint-disable-next-line no-sparse-arrays
      expect(toJsonSafe([1, , 3])).toStrictEqual([1, null, 3]);
    });
  });

  describe('strings', () => {
    it('replaces lone surrogates and NUL with U+FFFD', () => {
      expect(toJsonSafe('a\uD800b')).toBe('a\uFFFDb');
      expect(toJsonSafe('a\uDC00b')).toBe('a\uFFFDb');
      expect(toJsonSafe('end\uD83D')).toBe('end\uFFFD');
      expect(toJsonSafe('nul\u0000byte')).toBe('nul\uFFFDbyte');
    });

    it('keeps valid surrogate pairs and every other control character', () => {
      const text = '😀 \u0001\u0007\b\t\n\r\u001f\u007f\u2028';
      expect(toJsonSafe(text)).toBe(text);
    });

    it('sanitises keys too', () => {
      expect(toJsonSafe({ 'k\u0000\uD800': 1 })).toEqual({ 'k\uFFFD\uFFFD': 1 });
    });

    it('produces text that encodes to UTF-8 and back unchanged', () => {
      fc.assert(
        fc.property(
          fc.string({
            unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
          }),
          (s) => {
            const safe = toJsonSafe(s) as string;
            expect(Buffer.from(safe, 'utf8').toString('utf8')).toBe(safe);
            expect(safe.includes('\u0000')).toBe(false);
          },
        ),
      );
    });
  });

  describe('cycles and depth', () => {
    it('replaces a reference to an ancestor with [Circular]', () => {
      const node: Record<string, unknown> = { name: 'root' };
      node.self = node;
      node.list = [node, { back: node }];
      expect(toJsonSafe(node)).toEqual({
        name: 'root',
        self: CIRCULAR_MARKER,
        list: [CIRCULAR_MARKER, { back: CIRCULAR_MARKER }],
      });
    });

    it('copies an object reached twice side by side, which is not a cycle', () => {
      const shared = { v: 1 };
      expect(toJsonSafe({ a: shared, b: shared, c: [shared, shared] })).toEqual({
        a: { v: 1 },
        b: { v: 1 },
        c: [{ v: 1 }, { v: 1 }],
      });
    });

    it('detects cycles through Maps and Sets', () => {
      const map = new Map<string, unknown>();
      map.set('me', map);
      const set = new Set<unknown>();
      set.add(set);
      expect(toJsonSafe({ map, set })).toEqual({
        map: { me: CIRCULAR_MARKER },
        set: [CIRCULAR_MARKER],
      });
    });

    it(`keeps ${MAX_DEPTH} levels of containers and replaces deeper ones with [MaxDepth]`, () => {
      expect(innermost(toJsonSafe(nestArrays(MAX_DEPTH, 'leaf')))).toBe('leaf');
      expect(innermost(toJsonSafe(nestArrays(MAX_DEPTH + 1, 'leaf')))).toBe(MAX_DEPTH_MARKER);
      let deepObject: unknown = 'leaf';
      for (let i = 0; i < MAX_DEPTH + 1; i += 1) deepObject = { child: deepObject };
      const json = JSON.stringify(toJsonSafe(deepObject));
      expect(json).toContain(MAX_DEPTH_MARKER);
      expect(json).not.toContain('leaf');
    });

    it('handles very deep structures without overflowing the stack', () => {
      const deep = nestArrays(100_000, 'leaf');
      expect(() => toJsonSafe(deep)).not.toThrow();
      expect(innermost(toJsonSafe(deep))).toBe(MAX_DEPTH_MARKER);
    });

    it('handles 100k-element arrays in one pass', () => {
      const rows = Array.from({ length: 100_000 }, (_, i) => ({
        id: i,
        name: `row ${i}`,
        ok: i % 2 === 0,
      }));
      const budget = new WalkBudget(Number.POSITIVE_INFINITY);
      const safe = toJsonSafe(rows, { budget }) as unknown[];
      expect(safe).toHaveLength(100_000);
      expect(safe[99_999]).toEqual({ id: 99_999, name: 'row 99999', ok: false });
      // The walk's unit of work: one visit for the array, each row and each of its fields, so
      // the work grows with the input and never faster (how fast is the benchmarks' business).
      expect(budget.visited).toBe(1 + 100_000 * 4);
      expect(budget.exhausted).toBe(false);
    });
  });

  describe('built-in objects', () => {
    it('turns a Date into its ISO string and an invalid Date into null', () => {
      const when = new Date(Date.UTC(2025, 0, 31, 12, 0, 0, 7));
      expect(toJsonSafe({ when })).toEqual({ when: '2025-01-31T12:00:00.007Z' });
      expect(toJsonSafe(new Date(Number.NaN))).toBeNull();
    });

    it('replaces binary data with its size and digest, never its content', () => {
      const secret = 'binary-secret-0123456789';
      const bytes = Buffer.from(secret, 'utf8');
      const expected = { $audit: 'binary', bytes: bytes.length, sha256: sha256(bytes) };
      const view = new Uint8Array(bytes);
      const arrayBuffer = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
      const result = toJsonSafe({ buffer: bytes, view, arrayBuffer });
      expect(result).toEqual({ buffer: expected, view: expected, arrayBuffer: expected });
      const json = JSON.stringify(result);
      expect(json).not.toContain(secret);
      expect(json).not.toContain(bytes.toString('base64'));
      expect(isBinaryMarker((result as Record<string, unknown>).buffer)).toBe(true);
    });

    it('digests only the bytes a view covers', () => {
      const whole = Buffer.from('0123456789');
      const part = whole.subarray(2, 5);
      expect(toJsonSafe(part)).toEqual({
        $audit: 'binary',
        bytes: 3,
        sha256: sha256(Buffer.from('234')),
      });
      expect(toJsonSafe(new Float64Array([1, 2]))).toEqual(expect.objectContaining({ bytes: 16 }));
    });

    it('turns a Map into an object, stringifying non-string keys', () => {
      const map = new Map<unknown, unknown>([
        ['name', 'Ada'],
        [1, 'one'],
        [true, 'yes'],
        [10n, 'big'],
        [new Date(0), 'epoch'],
        [{ k: 1 }, 'object'],
        ['skip', undefined],
      ]);
      expect(toJsonSafe(map)).toEqual({
        name: 'Ada',
        '1': 'one',
        true: 'yes',
        '10': 'big',
        '1970-01-01T00:00:00.000Z': 'epoch',
        '{"k":1}': 'object',
      });
    });

    it('turns a Set into an array', () => {
      expect(toJsonSafe(new Set([1, 'a', 2n, undefined]))).toEqual([1, 'a', '2', null]);
    });

    it('turns an Error into { type, message }, ignoring its toJSON', () => {
      class HttpFailure extends Error {
        override name = 'HttpFailure';
        headers = { authorization: 'Bearer secret' };
        toJSON(): unknown {
          return { headers: this.headers };
        }
      }
      expect(toJsonSafe(new HttpFailure('upstream down'))).toEqual({
        type: 'HttpFailure',
        message: 'upstream down',
      });
      expect(toJsonSafe({ err: new TypeError('bad') })).toEqual({
        err: { type: 'TypeError', message: 'bad' },
      });
    });

    it('unboxes boxed primitives and stringifies regular expressions', () => {
      expect(toJsonSafe([Object(1), Object('s'), Object(false), Object(3n), /a+b/gi])).toEqual([
        1,
        's',
        false,
        '3',
        '/a+b/gi',
      ]);
    });

    it('keeps only own enumerable properties of class instances', () => {
      class Account {
        id = 7;
        private internal = 'kept as data';
        get computed(): string {
          return 'prototype getters are not own properties';
        }
      }
      const account = new Account();
      Object.defineProperty(account, 'hidden', { value: 1, enumerable: false });
      expect(toJsonSafe(account)).toStrictEqual({ id: 7, internal: 'kept as data' });
    });

    it('accepts objects without a prototype', () => {
      const bare = Object.create(null) as Record<string, unknown>;
      bare.a = 1;
      expect(toJsonSafe(bare)).toEqual({ a: 1 });
    });
  });

  describe('toJSON and throwing accessors', () => {
    it('uses toJSON, normalises its result and passes the key', () => {
      const keys: string[] = [];
      const value = {
        toJSON(key: string) {
          keys.push(key);
          return { big: 1n, when: new Date(0), nested: { toJSON: () => 'inner' } };
        },
      };
      expect(toJsonSafe({ field: value, list: [value] })).toEqual({
        field: { big: '1', when: '1970-01-01T00:00:00.000Z', nested: 'inner' },
        list: [{ big: '1', when: '1970-01-01T00:00:00.000Z', nested: 'inner' }],
      });
      expect(keys).toEqual(['field', '0']);
    });

    it('does not loop when toJSON returns the object itself', () => {
      const self = {
        a: 1,
        toJSON() {
          return this;
        },
      };
      expect(toJsonSafe(self)).toEqual({ a: 1 });
    });

    it('omits a key whose toJSON returns undefined', () => {
      expect(toJsonSafe({ gone: { toJSON: () => undefined }, kept: 1 })).toStrictEqual({ kept: 1 });
    });

    it('replaces a value whose toJSON throws, without throwing', () => {
      const bad = {
        toJSON() {
          throw new RangeError('cannot serialise');
        },
      };
      expect(toJsonSafe({ bad, ok: 1 })).toEqual({
        bad: '[Unserializable: RangeError: cannot serialise]',
        ok: 1,
      });
      expect(toJsonSafe(bad)).toBe('[Unserializable: RangeError: cannot serialise]');
    });

    it('replaces only the property whose getter throws', () => {
      const entity = { ok: 1 };
      Object.defineProperty(entity, 'lazy', {
        enumerable: true,
        get() {
          throw new Error('not loaded');
        },
      });
      expect(toJsonSafe(entity)).toEqual({ ok: 1, lazy: '[Unserializable: Error: not loaded]' });
    });

    it('survives proxies whose traps throw and revoked proxies', () => {
      const hostile = new Proxy(
        {},
        {
          ownKeys() {
            throw new Error('no keys');
          },
        },
      );
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      const result = toJsonSafe({ hostile, proxy }) as Record<string, string>;
      expect(result.hostile).toBe('[Unserializable: Error: no keys]');
      expect(result.proxy).toMatch(/^\[Unserializable: TypeError: /);
    });

    it('describes thrown non-errors and keeps the description short', () => {
      expect(unserializableMarker('plain')).toBe('[Unserializable: string: plain]');
      expect(unserializableMarker(new Error('x'.repeat(10_000))).length).toBeLessThan(260);
    });
  });

  describe('prototype pollution', () => {
    afterEach(() => {
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('keeps __proto__, constructor and prototype keys as data without touching prototypes', () => {
      const input = JSON.parse(
        '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"prototype":1}',
      ) as unknown;
      const result = toJsonSafe(input) as Record<string, unknown>;
      expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
      expect(Object.keys(result)).toEqual(['__proto__', 'constructor', 'prototype']);
      expect(result.polluted).toBeUndefined();
      // Jest's strict equality compares `.constructor`, which is data here: use Node's.
      expect(isDeepStrictEqual(JSON.parse(JSON.stringify(result)), input)).toBe(true);
      expect(JSON.stringify(result)).toContain('"__proto__":{"polluted":true}');
    });

    it('keeps a __proto__ Map key as data', () => {
      const result = toJsonSafe(new Map([['__proto__', { polluted: true }]])) as object;
      expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
      expect(JSON.stringify(result)).toBe('{"__proto__":{"polluted":true}}');
    });

    it('setJsonProperty defines __proto__ as an own property', () => {
      const target: Record<string, unknown> = {};
      setJsonProperty(target, '__proto__', { polluted: true });
      expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
      expect(Object.keys(target)).toEqual(['__proto__']);
    });
  });

  describe('properties', () => {
    it('returns JSON values unchanged (as a copy)', () => {
      fc.assert(
        fc.property(fc.jsonValue(), (raw) => {
          const value = JSON.parse(JSON.stringify(raw)) as unknown;
          const safe = toJsonSafe(value);
          expect(isDeepStrictEqual(safe, value)).toBe(true);
          if (typeof value === 'object' && value !== null) expect(safe).not.toBe(value);
        }),
      );
    });

    it('never throws and always yields data that survives a JSON round trip', () => {
      fc.assert(
        fc.property(
          fc.anything({
            withBigInt: true,
            withDate: true,
            withMap: true,
            withSet: true,
            withTypedArray: true,
            withSparseArray: true,
            withBoxedValues: true,
            withNullPrototype: true,
            withObjectString: true,
          }),
          (value) => {
            const safe = toJsonSafe(value);
            if (safe === undefined) return;
            expect(isDeepStrictEqual(JSON.parse(JSON.stringify(safe)), safe)).toBe(true);
          },
        ),
      );
    });
  });
});

describe('sanitizeString', () => {
  it('returns the same string when nothing needs replacing', () => {
    const text = 'plain text é 😀';
    expect(sanitizeString(text)).toBe(text);
  });
});

describe('capString', () => {
  it('keeps strings within the budget', () => {
    expect(capString('short', 5)).toBe('short');
    expect(capString('ééé', 6)).toBe('ééé');
  });

  it('cuts on a character boundary and marks the cut', () => {
    const cut = capString('é'.repeat(100), 11);
    expect(cut).toBe('éééé\u2026');
    expect(Buffer.byteLength(cut, 'utf8')).toBeLessThanOrEqual(11);
  });

  it('never splits a surrogate pair', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 60 }),
        fc.integer({ min: 0, max: 80 }),
        (s, max) => {
          const cut = capString(s, max);
          expect(Buffer.byteLength(cut, 'utf8')).toBeLessThanOrEqual(max);
          expect(sanitizeString(cut)).toBe(cut);
          if (Buffer.byteLength(s, 'utf8') <= max) expect(cut).toBe(s);
        },
      ),
    );
  });
});

describe('jsonByteLength', () => {
  it('counts UTF-8 bytes of the JSON text', () => {
    expect(jsonByteLength('é')).toBe(4);
    expect(jsonByteLength({ a: [1, 'x'] })).toBe(Buffer.byteLength('{"a":[1,"x"]}'));
    expect(jsonByteLength(undefined)).toBe(0);
  });

  it('does not throw on values JSON.stringify rejects', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(jsonByteLength({ n: 1n })).toBe(Buffer.byteLength('{"n":"1"}'));
    expect(jsonByteLength(cyclic)).toBe(Buffer.byteLength('{"self":"[Circular]"}'));
    expect(stringifyJson(cyclic)).toBe('{"self":"[Circular]"}');
  });
});

describe('capValue', () => {
  it('returns the value itself when its JSON fits', () => {
    const value = { a: 'x'.repeat(10) };
    expect(capValue(value, jsonByteLength(value))).toBe(value);
  });

  it('replaces a larger value with a marker of its JSON size and digest', () => {
    const value = { note: 'é'.repeat(100) };
    const json = JSON.stringify(value);
    const capped = capValue(value, 50);
    expect(capped).toEqual({
      $audit: 'truncated',
      bytes: Buffer.byteLength(json),
      sha256: sha256(json),
    });
    expect(isTruncatedMarker(capped)).toBe(true);
    expect(isAuditMarker(capped)).toBe(true);
    expect(isBinaryMarker(capped)).toBe(false);
  });

  it('reports the JSON and size of what it returns', () => {
    const small = capValueMeasured([1, 2], 100);
    expect(small).toEqual({ value: [1, 2], json: '[1,2]', bytes: 5 });
    const big = capValueMeasured('x'.repeat(500), 100);
    expect(big.json).toBe(JSON.stringify(big.value));
    expect(big.bytes).toBe(Buffer.byteLength(big.json ?? ''));
    expect(capValueMeasured(undefined, 10)).toEqual({
      value: undefined,
      json: undefined,
      bytes: 0,
    });
  });

  it('records how many list entries a marker stands for', () => {
    expect(truncatedMarker('[1,2]', 2)).toEqual(expect.objectContaining({ entries: 2, bytes: 5 }));
  });

  it('says when the value was read only in part, and never keeps such a value as it is', () => {
    const marker = truncatedMarker('{"a":1}', undefined, { partial: true });
    expect(marker).toEqual({
      $audit: 'truncated',
      bytes: 7,
      sha256: sha256('{"a":1}'),
      partial: true,
    });
    expect(isTruncatedMarker(marker)).toBe(true);
    expect(truncatedMarker('{"a":1}')).not.toHaveProperty('partial');
    // Small enough to keep, but not whole: a marker, so nobody reads it as the full value.
    expect(capValueMeasured({ a: 1 }, 1000, { partial: true }).value).toEqual(marker);
  });

  it('does not mistake ordinary data for markers', () => {
    expect(isAuditMarker({ $audit: 'other', bytes: 1, sha256: 'x' })).toBe(false);
    expect(isAuditMarker(['truncated'])).toBe(false);
    expect(isAuditMarker(null)).toBe(false);
  });
});

describe('toJsonSafe on graphs with shared references', () => {
  it('bounds the work on a graph that reuses nodes (exponential paths, no cycle)', () => {
    let node: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 40; i++) node = { left: node, right: node };
    // 2^40 paths lead to the leaf; the walk stops at its budget of visits, as by default.
    const budget = new WalkBudget(MAX_NODES);
    const safe = toJsonSafe(node, { budget });
    expect(budget.visited).toBe(MAX_NODES);
    expect(budget.exhausted).toBe(true);
    expect(JSON.stringify(safe)).toContain(NODE_BUDGET_MARKER);
  });

  it('copies a value reused side by side (not a cycle) in full while under the budget', () => {
    const shared = { id: 1 };
    expect(toJsonSafe({ a: shared, b: shared, list: [shared, shared] })).toEqual({
      a: { id: 1 },
      b: { id: 1 },
      list: [{ id: 1 }, { id: 1 }],
    });
  });
});
