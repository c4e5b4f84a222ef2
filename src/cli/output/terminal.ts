import { escapeControlCharacters } from '../../common/control-characters';
/**
 * What the CLI needs to know about where it writes: the streams, whether they are terminals,
 * how wide the terminal is, and the environment (NO_COLOR, COLUMNS). Passed around instead of
 * reading `process` everywhere, so output code is plain functions of its inputs.
 */

/** A writable stream as the CLI uses it (a subset of `process.stdout`). */
export interface CliStream extends NodeJS.WritableStream {
  /** `true` when the stream is a terminal. */
  isTTY?: boolean;
  /** Terminal width in characters, when it is a terminal. */
  columns?: number;
}

/** The process's streams and environment, as seen by the commands. */
export interface CliIo {
  /** Where results go. */
  stdout: CliStream;
  /** Where errors, hints, progress and summaries go. */
  stderr: CliStream;
  /** Environment variables. */
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Whether to colour what goes to `stream`: only on a terminal, and never when `NO_COLOR` is set
 * to a non-empty value (https://no-color.org).
 */
export function colorEnabled(stream: CliStream, env: CliIo['env']): boolean {
  const noColor = env.NO_COLOR;
  return stream.isTTY === true && (noColor === undefined || noColor === '');
}

/**
 * Width available for a line on `stream`: the terminal's width, else `COLUMNS` when it is set
 * (shells export it to scripts), else a width wide enough for a full row, so that piped output
 * is cut only where a cell is really long.
 */
export function outputWidth(stream: CliStream, env: CliIo['env']): number {
  if (stream.isTTY === true && typeof stream.columns === 'number' && stream.columns > 0) {
    return stream.columns;
  }
  const fromEnv = Number(env.COLUMNS);
  if (Number.isInteger(fromEnv) && fromEnv >= 40) return fromEnv;
  return 200;
}

/** The ANSI styles the CLI uses. */
export type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan';

const CODES: Readonly<Record<Style, readonly [number, number]>> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
};

/** Applies a style, or returns the text unchanged when colour is off. */
export type Paint = (style: Style, text: string) => string;

/** A {@link Paint} that styles text with ANSI codes when `enabled`, and is a no-op otherwise. */
export function painter(enabled: boolean): Paint {
  if (!enabled) return (_style, text) => text;
  return (style, text) => {
    const [open, close] = CODES[style];
    return text === '' ? text : `\u001b[${open}m${text}\u001b[${close}m`;
  };
}

/** Makes user-supplied text safe to print on a terminal: control characters become `\uXXXX`. */
export function sanitize(text: string): string {
  return escapeControlCharacters(text);
}

/** Length in characters as displayed (code points; surrogate pairs count once). */
export function displayLength(text: string): number {
  let length = 0;
  for (const _ of text) length += 1;
  return length;
}

/** Cuts `text` to at most `width` characters, ending with `…` when something was cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (displayLength(text) <= width) return text;
  const chars = Array.from(text);
  return `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}
