import { median } from '../lib/stats';

/** The measured cases: `<app>-<phase>`. */
export const CASES = [
  'plain-get',
  'audit-get',
  'plain-patch',
  'audit-patch',
  'pino-patch',
] as const;
/** A measured case. */
export type CaseId = (typeof CASES)[number];

/** How the table names each case. */
export const CASE_LABELS: Readonly<Record<CaseId, string>> = {
  'plain-get': 'GET, app without the module (baseline)',
  'audit-get': 'GET of an unaudited route, module installed, after one audited request',
  'plain-patch': 'PATCH, app without the module (baseline)',
  'audit-patch': "PATCH audited: 'ack', ~1.3 KB before/after (loader), SQLite store",
  'pino-patch': 'PATCH, nestjs-pino request logging (reference)',
};

/**
 * Main-thread instructions per request outside V8's garbage collector and compilers, by case (only
 * the cases measured): what the gate compares with the budgets.
 */
export type Counts = Partial<Record<CaseId, number>>;

/** The committed budgets file (bench/callgrind/budgets.json). */
export interface Budgets {
  note: string;
  /** Date the counts were recorded (YYYY-MM-DD). */
  recorded: string;
  /** Node version they were recorded with: another version counts differently. */
  node: string;
  nodeFlags: string[];
  requests: number;
  warmup: number;
  /** Allowed excess over a budget, as a fraction (0.05: fail above budget × 1.05). */
  tolerance: number;
  /** The cases CI fails on; the others are kept for the ratios. */
  gated: CaseId[];
  counts: Record<CaseId, number>;
}

/** What the gate's table is made of. */
export interface GateInput {
  runs: readonly Counts[];
  /** The collector's instructions per request in each run: shown, not gated. */
  collector: readonly Counts[];
  /** The compilers' instructions per request in each run: shown, not gated. */
  compiler: readonly Counts[];
  budgets: Budgets | undefined;
  update: boolean;
  facts: string;
}

function n(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value)
    ? 'n/a'
    : Math.round(value).toLocaleString('en-US');
}

function ratio(x: number | undefined, y: number | undefined): string {
  return x === undefined || y === undefined ? 'n/a' : `${(x / y).toFixed(3)}×`;
}

/** Median of each case over the runs, and the spread of the runs ((max − min) / min). */
function combine(runs: readonly Counts[]): { measured: Counts; spread: Counts } {
  const measured: Counts = {};
  const spread: Counts = {};
  for (const c of CASES) {
    const values = runs.map((r) => r[c]).filter((v): v is number => v !== undefined);
    if (values.length === 0) continue;
    measured[c] = median(values);
    spread[c] = (Math.max(...values) - Math.min(...values)) / Math.min(...values);
  }
  return { measured, spread };
}

/** A case's instructions with V8's (the collector's and the compilers'). */
function sum(outside: Counts, collector: Counts, compiler: Counts, c: CaseId): number | undefined {
  const a = outside[c];
  const b = collector[c];
  const d = compiler[c];
  return a === undefined || b === undefined || d === undefined ? undefined : a + b + d;
}

/**
 * The gate's table: each case's count against its budget, the verdict of the gated cases, and
 * the ratios issue 10 asks for.
 */
export function renderGate(input: GateInput): { text: string; failed: boolean; measured: Counts } {
  const { measured, spread } = combine(input.runs);
  const collector = combine(input.collector).measured;
  const compiler = combine(input.compiler).measured;
  const budgets = input.budgets;
  const tolerance = budgets?.tolerance ?? 0.05;
  const gated = new Set<CaseId>(budgets?.gated ?? ['audit-get', 'audit-patch']);
  let failed = budgets === undefined && !input.update;
  const lines = [
    `Main-thread instructions per request outside V8's garbage collector and compilers (callgrind; ${input.facts}). Their own are shown, not gated: how many collection cycles fall in the window depends on thread timing, and how much compiling is left after the warm-up on which functions V8 happened to optimize late.`,
    '',
    `| Case | instructions/request | budget | vs budget | gate (≤ budget × ${(1 + tolerance).toFixed(2)}) | collector | compilers |${input.runs.length > 1 ? ' runs agree within |' : ''}`,
    `| --- | ---: | ---: | ---: | --- | ---: | ---: |${input.runs.length > 1 ? ' ---: |' : ''}`,
  ];
  for (const c of CASES) {
    const value = measured[c];
    if (value === undefined) continue;
    const budget = budgets?.counts[c];
    let verdict = 'reference';
    if (gated.has(c)) {
      if (input.update) verdict = 'recorded';
      else if (budget === undefined) {
        verdict = '**NO BUDGET**';
        failed = true;
      } else if (value > budget * (1 + tolerance)) {
        verdict = '**FAIL**';
        failed = true;
      } else verdict = 'pass';
    }
    const agree = input.runs.length > 1 ? ` ${((spread[c] ?? 0) * 100).toFixed(2)}% |` : '';
    lines.push(
      `| ${CASE_LABELS[c]} | ${n(value)} | ${n(budget)} | ${budget ? ratio(value, budget) : 'n/a'} | ${verdict} | ${n(collector[c])} | ${n(compiler[c])} |${agree}`,
    );
  }
  const m = measured;
  lines.push(
    '',
    'Ratios (issue 10 targets in brackets):',
    `- unaudited GET / no module: ${ratio(m['audit-get'], m['plain-get'])} [≤ 1.03×]`,
    `- audited PATCH / no module: ${ratio(m['audit-patch'], m['plain-patch'])} (+${n((m['audit-patch'] ?? NaN) - (m['plain-patch'] ?? NaN))} instructions)`,
    `- nestjs-pino PATCH / no module: ${ratio(m['pino-patch'], m['plain-patch'])} (+${n((m['pino-patch'] ?? NaN) - (m['plain-patch'] ?? NaN))} instructions)`,
    `- audited / nestjs-pino: ${ratio(m['audit-patch'], m['pino-patch'])} [≤ 1.00×]`,
    `- collector and compilers included: audited / nestjs-pino ${ratio(sum(m, collector, compiler, 'audit-patch'), sum(m, collector, compiler, 'pino-patch'))}, unaudited GET / no module ${ratio(sum(m, collector, compiler, 'audit-get'), sum(m, collector, compiler, 'plain-get'))}`,
  );
  if (budgets && budgets.node !== process.version) {
    lines.push(
      '',
      `Note: the budgets were recorded on Node ${budgets.node}, this is ${process.version}; counts differ between Node versions (re-record with --update).`,
    );
  }
  if (budgets === undefined && !input.update) {
    lines.push('', 'No budgets.json: record one with `npm run bench:instructions -- --update`.');
  }
  lines.push('', input.update ? 'RECORDED' : failed ? 'GATE FAILED' : 'GATE PASSED', '');
  return { text: lines.join('\n'), failed, measured };
}
