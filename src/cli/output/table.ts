import { displayLength, sanitize, truncate, type Paint, type Style } from './terminal';

/** One column of a {@link renderTable} table. */
export interface TableColumn {
  /** Header text. */
  header: string;
  /**
   * Whether the column may be narrowed (its cells cut with `…`) to fit the width. Identifiers
   * a user copies into the next command must stay whole.
   * @default true
   */
  shrink?: boolean;
  /**
   * Narrowest width the column is cut to.
   * @default 8
   */
  minWidth?: number;
  /** Style of a cell, chosen from its text. */
  style?: (cell: string) => Style | undefined;
  /**
   * Alignment of the cells.
   * @default 'left'
   */
  align?: 'left' | 'right';
}

/** Options of {@link renderTable}. */
export interface TableOptions {
  /** Width of the line; columns that may shrink are narrowed until the rows fit. */
  width: number;
  /** Styles headers and cells (a no-op when colour is off). */
  paint: Paint;
}

const GAP = '  ';
const DEFAULT_MIN_WIDTH = 8;

/**
 * Widths that make the columns fit `width`: shrinkable columns are capped at one common width,
 * the largest that fits, so the widest columns give up space first and narrow ones keep theirs.
 */
export function fitColumnWidths(
  natural: readonly number[],
  minimum: readonly number[],
  shrinkable: readonly boolean[],
  width: number,
): number[] {
  const gaps = GAP.length * Math.max(0, natural.length - 1);
  const widthsFor = (cap: number) =>
    natural.map((n, i) => (shrinkable[i] ? Math.min(n, Math.max(minimum[i] ?? 0, cap)) : n));
  const total = (widths: readonly number[]) => widths.reduce((sum, w) => sum + w, gaps);
  if (total(natural) <= width) return [...natural];
  let low = 0;
  let high = Math.max(0, ...natural);
  while (low < high) {
    const cap = Math.ceil((low + high) / 2);
    if (total(widthsFor(cap)) <= width) low = cap;
    else high = cap - 1;
  }
  // When even the narrowest widths overflow, the terminal wraps the line: better than hiding
  // a column.
  return widthsFor(low);
}

/**
 * One line of a table whose column widths are already known: each cell cut to its column with
 * `…` and padded, the header styled bold. Cells are made safe for a terminal first.
 * @returns the line, without a newline.
 */
export function formatRow(
  columns: readonly TableColumn[],
  widths: readonly number[],
  values: readonly string[],
  paint: Paint,
  header = false,
): string {
  return columns
    .map((column, i) => {
      const value = header ? column.header : sanitize(values[i] ?? '');
      const width = widths[i] ?? 0;
      const text = truncate(value, width);
      const fill = ' '.repeat(Math.max(0, width - displayLength(text)));
      const last = i === columns.length - 1;
      const padded = column.align === 'right' ? fill + text : last ? text : text + fill;
      const style = header ? 'bold' : column.style?.(value);
      return style === undefined ? padded : paint(style, padded);
    })
    .join(GAP)
    .trimEnd();
}

/**
 * Renders rows as an aligned text table with a header line, its columns fitted to the width
 * (see {@link fitColumnWidths}). Cells are made safe for a terminal (control characters
 * escaped), and cells wider than their column end with `…`.
 * @returns the table, one line per row, each ending with a newline.
 */
export function renderTable(
  columns: readonly TableColumn[],
  rows: readonly (readonly string[])[],
  options: TableOptions,
): string {
  const natural = columns.map((column, i) =>
    rows.reduce(
      (max, row) => Math.max(max, displayLength(sanitize(row[i] ?? ''))),
      displayLength(column.header),
    ),
  );
  const widths = fitColumnWidths(
    natural,
    columns.map((column) => column.minWidth ?? DEFAULT_MIN_WIDTH),
    columns.map((column) => column.shrink !== false),
    options.width,
  );
  const lines = [formatRow(columns, widths, [], options.paint, true)];
  for (const row of rows) lines.push(formatRow(columns, widths, row, options.paint));
  return `${lines.join('\n')}\n`;
}
