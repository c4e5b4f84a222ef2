import fc from 'fast-check';
import { makeEvent } from '../../test/fixtures/events';
import { escapeControlCharacters } from '../common/control-characters';
import {
  csvCell,
  csvHeader,
  csvLine,
  csvRecord,
  EXPORT_COLUMNS,
  exportCells,
  ndjsonLine,
} from './export-format';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parse } = require('csv-parse/sync') as {
  parse: (input: string, options?: Record<string, unknown>) => string[][];
};

const FORMULA_STARTS = ['=', '+', '-', '@', '\t', '\r'];

describe('csvCell', () => {
  it('leaves plain text as it is', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('')).toBe('');
    expect(csvCell('a;b|c')).toBe('a;b|c');
    expect(csvCell('ünïcödé ✓')).toBe('ünïcödé ✓');
  });

  it('quotes a cell with a comma, a quote or a line break, doubling the quotes', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('one\ntwo')).toBe('"one\ntwo"');
    expect(csvCell('one\r\ntwo')).toBe('"one\r\ntwo"');
    expect(csvCell('"')).toBe('""""');
  });

  it.each(FORMULA_STARTS)('neutralises a cell starting with %j with a leading quote', (start) => {
    expect(csvCell(`${start}1+2`).replace(/^"/, '')).toMatch(/^'/);
  });

  it('neutralises and quotes a formula that also needs quoting', () => {
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe('"\'=HYPERLINK(""http://x"",""y"")"');
    expect(csvCell('-1,5')).toBe('"\'-1,5"');
  });

  it('does not touch a formula character that is not first', () => {
    expect(csvCell('a=b')).toBe('a=b');
    expect(csvCell('1-2')).toBe('1-2');
    expect(csvCell('x@y.z')).toBe('x@y.z');
  });

  it('neutralises a formula behind leading spaces, in full-width signs and behind a pipe', () => {
    expect(csvCell(" =cmd|' /C calc'!A0")).toBe("' =cmd|' /C calc'!A0");
    expect(csvCell('\u3000\u00a0+1')).toBe("'\u3000\u00a0+1");
    for (const sign of ['\uff1d', '\uff0b', '\uff0d', '\uff20', '\uff5c', '|']) {
      expect(csvCell(`${sign}SUM(A1)`)).toBe(`'${sign}SUM(A1)`);
    }
  });

  it('neutralises a formula after a semicolon, comma or tab inside the cell', () => {
    expect(csvCell('x;=HYPERLINK("http://evil.example")')).toBe(
      '"x;\'=HYPERLINK(""http://evil.example"")"',
    );
    expect(csvCell('x; @SUM(1)')).toBe("x;' @SUM(1)");
    expect(csvCell('a,-1')).toBe('"a,\'-1"');
    expect(csvCell('a\t+1')).toBe("a\t'+1");
  });

  it('writes control and bidirectional characters as text, keeping tabs and line breaks', () => {
    expect(csvCell('red\u001b[31mtext\u009b1m')).toBe('red\\u001b[31mtext\\u009b1m');
    expect(csvCell('abc\u202edef\u0000')).toBe('abc\\u202edef\\u0000');
    expect(csvCell('a\tb\nc')).toBe('"a\tb\nc"');
  });
});

describe('csvLine', () => {
  it('ends every record with CRLF (RFC 4180)', () => {
    expect(csvLine(['a', 'b'])).toBe('a,b\r\n');
    expect(csvHeader()).toBe(`${EXPORT_COLUMNS.join(',')}\r\n`);
  });

  it('reads back through a CSV parser as the cells given, with quotes only where formulas could start', () => {
    // What a spreadsheet program may read as the start of a formula, after the export.
    const formula = /(^|[;,\t])\s*[=+\-@|\uff1d\uff0b\uff0d\uff20\uff5c]|^[\t\r]/u;
    /** Whether `parsed` is `cell` with single quotes inserted, and nothing else changed. */
    const quotesInserted = (cell: string, parsed: string): boolean => {
      let at = 0;
      for (let k = 0; k < parsed.length; k += 1) {
        const char = parsed[k];
        if (char === cell[at]) at += 1;
        else if (char !== "'") return false;
      }
      return at === cell.length;
    };
    // Control characters are written as text (see above); here, everything else.
    const text = fc
      .string({ unit: 'binary', maxLength: 20 })
      .filter((c) => escapeControlCharacters(c, true) === c);
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 6 }), (cells) => {
        const [parsed] = parse(csvLine(cells), { relax_column_count: false });
        expect(parsed).toHaveLength(cells.length);
        parsed!.forEach((cell, i) => {
          expect({ cell, formula: formula.test(cell) }).toEqual({ cell, formula: false });
          expect(quotesInserted(cells[i]!, cell)).toBe(true);
        });
      }),
      { numRuns: 1_000 },
    );
  });

  it('keeps many records apart even when cells hold line breaks', () => {
    const rows = [
      ['1', 'line\nbreak'],
      ['2', 'cr\r\nlf'],
      ['3', '"quoted"'],
    ];
    const text = rows.map((r) => csvLine(r)).join('');
    expect(parse(text)).toEqual(rows);
  });
});

describe('exportCells / csvRecord / ndjsonLine', () => {
  it('gives one cell per column, empty for what the event lacks', () => {
    const event = makeEvent({ message: 'hello' });
    const cells = exportCells(event);
    expect(cells).toHaveLength(EXPORT_COLUMNS.length);
    expect(cells[EXPORT_COLUMNS.indexOf('id')]).toBe(event.id);
    expect(cells[EXPORT_COLUMNS.indexOf('message')]).toBe('hello');
    expect(cells[EXPORT_COLUMNS.indexOf('tenant')]).toBe('');
    expect(cells[EXPORT_COLUMNS.indexOf('target_id')]).toBe('42');
  });

  it('writes the changed fields, the status code and the error as text', () => {
    const event = makeEvent({
      changes: { diff: [], fields: ['mfa.phone', 'name'] },
      response: { statusCode: 409 },
      error: { type: 'ConflictException', message: 'taken' },
    });
    const cells = exportCells(event);
    expect(cells[EXPORT_COLUMNS.indexOf('changed_fields')]).toBe('mfa.phone name');
    expect(cells[EXPORT_COLUMNS.indexOf('status_code')]).toBe('409');
    expect(cells[EXPORT_COLUMNS.indexOf('error')]).toBe('ConflictException: taken');
  });

  it('neutralises a formula in any column of a record, e.g. an actor name', () => {
    const event = makeEvent({
      actor: { type: 'user', id: 'u', name: '=cmd|"/c calc"!A1', authenticated: true },
    });
    const [parsed] = parse(csvRecord(event));
    expect(parsed?.[EXPORT_COLUMNS.indexOf('actor_name')]).toBe('\'=cmd|"/c calc"!A1');
  });

  it('writes one NDJSON line per event, the full event, line breaks escaped', () => {
    const event = makeEvent({ message: 'two\nlines' });
    const line = ndjsonLine(event);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(line)).toEqual(event);
  });
});
