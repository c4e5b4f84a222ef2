import fc from 'fast-check';
import { canonicalize } from 'json-canonicalize';
import { canonicalEventJson } from './canonical';

/** json-canonicalize on the parsed text: the reference the fast path must equal byte for byte. */
function reference(json: string): string {
  return canonicalize(JSON.parse(json) as unknown);
}

describe('canonicalEventJson', () => {
  it('writes RFC 8785: members sorted by UTF-16 code units, no whitespace', () => {
    expect(canonicalEventJson('{ "b": [3, {"z": 1, "a": 2}], "a": "x", "B": null }')).toBe(
      '{"B":null,"a":"x","b":[3,{"a":2,"z":1}]}',
    );
    // U+1F600 is a surrogate pair (0xD83D …), which sorts before U+FFFF in UTF-16 order.
    expect(canonicalEventJson('{"\\uffff": 1, "\\ud83d\\ude00": 2}')).toBe(
      '{"\u{1F600}":2,"\uffff":1}',
    );
    expect(canonicalEventJson('{"n": [1.0, -0, 1e21, 0.000001, 1E-7]}')).toBe(
      '{"n":[1,0,1e+21,0.000001,1e-7]}',
    );
  });

  it('orders integer-like keys as text, where the engine would order them as numbers', () => {
    const json = '{"10": "ten", "9": "nine", "a": {"2": 1, "10": 2}}';
    expect(canonicalEventJson(json)).toBe('{"10":"ten","9":"nine","a":{"10":2,"2":1}}');
    expect(canonicalEventJson(json)).toBe(reference(json));
  });

  it('keeps a "__proto__" member as a member', () => {
    const json = '{"z": 1, "__proto__": {"polluted": true}}';
    expect(canonicalEventJson(json)).toBe('{"__proto__":{"polluted":true},"z":1}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('gives the bytes of json-canonicalize for any JSON text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const json = JSON.stringify(value);
        return canonicalEventJson(json) === reference(json);
      }),
      { numRuns: 2_000 },
    );
  });

  it('throws a SyntaxError for text that is not JSON', () => {
    expect(() => canonicalEventJson('{"a":')).toThrow(SyntaxError);
  });
});
