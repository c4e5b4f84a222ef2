import { checkRecordInput } from './audit-record-input';
import { AuditRecordError } from './common/audit-record.error';

function rejection(input: unknown): Error {
  try {
    checkRecordInput(input);
  } catch (error) {
    return error as Error;
  }
  throw new Error('checkRecordInput accepted the input');
}

describe('checkRecordInput', () => {
  const circular: Record<string, unknown> = { name: 'loop' };
  circular.self = circular;

  // Values JSON cannot write are described, not handed to JSON.stringify (which throws).
  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'a BigInt outcome',
      { outcome: 1n },
      /"outcome" must be success, failure or unknown \(got 1n\)/,
    ],
    [
      'a circular outcome',
      { outcome: circular },
      /"outcome" must be .* \(got an object with keys \["name","self"\]\)/,
    ],
    ['a BigInt level', { level: 1n }, /"level" must be one of .* \(got 1n\)/],
    ['a BigInt target type', { target: { type: 1n } }, /target\.type 1n is refused/],
  ])('refuses %s with an AuditRecordError naming the field', (_label, fields, message) => {
    const error = rejection({ action: 'invoice.void', ...fields });
    expect(error).toBeInstanceOf(AuditRecordError);
    expect(error.message).toMatch(message);
  });
});
