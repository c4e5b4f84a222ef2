import { fitColumnWidths, formatRow, renderTable, type TableColumn } from './table';
import { painter } from './terminal';

const plain = painter(false);

describe('fitColumnWidths', () => {
  it('keeps the natural widths when they fit', () => {
    expect(fitColumnWidths([5, 10, 3], [2, 2, 2], [true, true, true], 40)).toEqual([5, 10, 3]);
  });

  it('narrows the widest shrinkable columns first, down to a common cap', () => {
    // 3 gaps of 2 and a fixed column of 20 leave 34 for [30, 20, 6]: cap 14 → 14 + 14 + 6.
    expect(fitColumnWidths([20, 30, 20, 6], [0, 4, 4, 4], [false, true, true, true], 60)).toEqual([
      20, 14, 14, 6,
    ]);
  });

  it('never goes below the minimum widths, even if the line overflows', () => {
    expect(fitColumnWidths([36, 30, 30], [0, 10, 10], [false, true, true], 40)).toEqual([
      36, 10, 10,
    ]);
  });
});

describe('renderTable', () => {
  const columns: TableColumn[] = [
    { header: 'NAME', minWidth: 4 },
    { header: 'N', align: 'right', shrink: false },
    { header: 'ID', shrink: false },
  ];

  it('aligns the columns under their headers', () => {
    const out = renderTable(
      columns,
      [
        ['Ada', '7', 'id-1'],
        ['Grace', '12', 'id-22'],
      ],
      { width: 80, paint: plain },
    );
    expect(out).toBe('NAME    N  ID\nAda     7  id-1\nGrace  12  id-22\n');
  });

  it('cuts cells with an ellipsis to fit the width', () => {
    const out = renderTable(columns, [['Augusta Ada King', '1', 'id-1']], {
      width: 18,
      paint: plain,
    });
    expect(out).toBe('NAME       N  ID\nAugusta …  1  id-1\n');
    for (const line of out.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(18);
  });

  it('escapes control and bidirectional characters from the data', () => {
    const out = renderTable(columns, [['a\u001b[31mb\u202ec', '1', 'x']], {
      width: 80,
      paint: plain,
    });
    expect(out).not.toContain('\u001b');
    expect(out).not.toContain('\u202e');
    expect(out).toContain('a\\u001b[31mb\\u202ec');
  });

  it('styles the header and the cells only when colour is on', () => {
    const styled: TableColumn[] = [
      { header: 'OUTCOME', style: (cell) => (cell === 'failure' ? 'red' : undefined) },
    ];
    const coloured = renderTable(styled, [['failure'], ['success']], {
      width: 80,
      paint: painter(true),
    });
    expect(coloured).toBe('\u001b[1mOUTCOME\u001b[22m\n\u001b[31mfailure\u001b[39m\nsuccess\n');
    expect(renderTable(styled, [['failure']], { width: 80, paint: plain })).toBe(
      'OUTCOME\nfailure\n',
    );
  });

  it('counts characters, not UTF-16 units, when padding and cutting', () => {
    const line = formatRow(columns, [4, 1, 2], ['😀😀😀😀😀', '1', 'id'], plain);
    expect(line).toBe('😀😀😀…  1  id');
  });
});
