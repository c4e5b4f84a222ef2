/**
 * The instruction-count gate (issue 10): `npm run bench:instructions` (or, after
 * `npx tsc -p bench/tsconfig.json`, `node dist-bench/bench/callgrind/gate.js`).
 *
 * Counts the main thread's instructions per request under valgrind's callgrind, in-process on
 * Fastify through `inject()`, for the apps of `apps.ts`, compares the unaudited and the audited
 * request (outside V8's garbage collector and compilers, whose shares are shown beside: see
 * collector-share.ts)
 * against `budgets.json` and exits 1 above budget × 1.05. Instruction counts do not
 * depend on how busy the machine is, unlike wall-clock figures (±40% here).
 *
 * Flags: `--update` writes the counts measured into budgets.json (re-recording is this one
 * command); `--runs=N` runs every app N times and reports how far the runs agree.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { measureAll, readGateSettings } from './measure';
import { checkValgrind } from './valgrind';
import { CASES, renderGate, type Budgets, type CaseId } from './gate-report';

const ROOT = resolve(__dirname, '..', '..', '..');
const BUDGETS_FILE = join(ROOT, 'bench', 'callgrind', 'budgets.json');
function readBudgets(): Budgets | undefined {
  try {
    return JSON.parse(readFileSync(BUDGETS_FILE, 'utf8')) as Budgets;
  } catch {
    return undefined;
  }
}

/**
 * Removes the callgrind files; never throws, so that the error that ended the run is the one
 * reported (a valgrind killed on timeout may still be writing its last file).
 */
function removeOutputs(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  } catch (error: unknown) {
    process.stderr.write(`callgrind files left in ${dir}: ${String(error)}\n`);
  }
}

async function main(): Promise<void> {
  const settings = readGateSettings(process.argv.slice(2));
  const valgrind = await checkValgrind();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-audit-callgrind-'));
  const started = Date.now();
  try {
    const { runs, collector, compiler } = await measureAll(settings, dir);
    const budgets = readBudgets();
    const { text, failed, measured } = renderGate({
      runs,
      collector,
      compiler,
      budgets,
      update: settings.update,
      facts: `${valgrind}, Node ${process.version} ${settings.nodeFlags.join(' ')}, ${settings.requests} measured updates and ${settings.getRequests} reads after 2 × ${settings.warmup} of warm-up per case, ${((Date.now() - started) / 1000).toFixed(0)} s`,
    });
    process.stdout.write(text);
    if (settings.update) {
      const next: Budgets = {
        note: 'Main-thread instructions per request (callgrind). Re-record with: npm run bench:instructions -- --update',
        recorded: new Date().toISOString().slice(0, 10),
        node: process.version,
        nodeFlags: settings.nodeFlags,
        requests: settings.requests,
        warmup: settings.warmup,
        tolerance: budgets?.tolerance ?? 0.05,
        gated: budgets?.gated ?? ['audit-get', 'audit-patch'],
        counts: Object.fromEntries(CASES.map((c) => [c, Math.round(measured[c] ?? 0)])) as Record<
          CaseId,
          number
        >,
      };
      writeFileSync(BUDGETS_FILE, `${JSON.stringify(next, null, 2)}\n`);
      process.stdout.write(`\nbudgets written to ${BUDGETS_FILE}\n`);
    } else if (failed) {
      process.exitCode = 1;
    }
  } finally {
    // CG_KEEP=1 keeps the callgrind files for callgrind_annotate (where the instructions go).
    if (process.env.CG_KEEP === '1') process.stderr.write(`callgrind files kept in ${dir}\n`);
    else removeOutputs(dir);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `instruction gate failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
