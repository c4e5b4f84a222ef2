/**
 * Where an update's cost goes, in-process (issue 10's "profile that shows where the rest goes"):
 * boots a gate app (`callgrind/apps.ts`: plain, audit or pino) on Fastify, sends 3,000 PATCH
 * requests one after the other to warm up, then profiles N more.
 *
 *   npx tsc -p bench/tsconfig.json && node dist-bench/bench/update-profile.js <mode> [app] [n]
 *
 * Modes:
 * - `alloc` (default): bytes allocated per update by allocating function (V8's sampling heap
 *   profiler, objects the collector already freed included); `DEPTH=k` adds k callers.
 * - `cpu`: sampled self time per update by file and by function (V8's CPU profiler; its own
 *   overhead and native calls make the absolute figures high: read the shares).
 * - `thread`: the main thread's CPU per update from /proc (Linux), no profiler attached.
 * - `promises`: promises created per update, by the first function outside Node's internals on
 *   the stack where each was made (an `async_hooks` init hook; while the per-request context is
 *   on, every one of them also runs the context's hook, so each costs twice).
 *
 * The figures move from run to run; compare apps or builds in the same session, and gate with
 * callgrind (`npm run bench:instructions`).
 */
import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHook } from 'node:async_hooks';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { itemPath } from './app/item-state';
import { GATE_APPS, gateModule, type GateApp } from './callgrind/apps';

const MODES = ['alloc', 'cpu', 'thread', 'promises'] as const;
type Mode = (typeof MODES)[number];
const WARM_UP = 3000;
/** Rows printed per table. */
const TOP = 45;

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}
interface CpuNode {
  callFrame: CallFrame;
  hitCount: number;
}
type Send = (i: number) => Promise<void>;

function frameName(frame: CallFrame): string {
  const file = frame.url.replace(/.*\/(dist-bench|node_modules)\//, '') || '(native)';
  return `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
}

function printTop(title: string, totals: Map<string, number>, scale: number, unit: string): void {
  process.stdout.write(`\n${title}\n`);
  const rows = [...totals].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  for (const [name, value] of rows) {
    process.stdout.write(`${(value * scale).toFixed(1).padStart(9)} ${unit}  ${name}\n`);
  }
}

function addAllocations(
  node: HeapNode,
  callers: string[],
  depth: number,
  out: Map<string, number>,
) {
  const here = frameName(node.callFrame);
  if (node.selfSize > 0) {
    const key = [here, ...callers.slice(0, depth)].join(' < ');
    out.set(key, (out.get(key) ?? 0) + node.selfSize);
  }
  for (const child of node.children) addAllocations(child, [here, ...callers], depth, out);
}

async function profileAllocations(session: Session, send: Send, n: number): Promise<void> {
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never);
  for (let i = 0; i < n; i += 1) await send(WARM_UP + i);
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as {
    profile: { head: HeapNode };
  };
  const sites = new Map<string, number>();
  addAllocations(profile.head, [], Number(process.env.DEPTH ?? '0'), sites);
  const total = [...sites.values()].reduce((sum, bytes) => sum + bytes, 0);
  process.stdout.write(`${(total / n / 1024).toFixed(1)} KB allocated per update (sampled)\n`);
  printTop('bytes per update, by allocating function', sites, 1 / n, 'B');
}

function fileOf(frame: CallFrame): string {
  const path = frame.url.replace(/.*\/(dist-bench|node_modules)\//, '');
  if (path === '') return `(${frame.functionName})`;
  if (path.startsWith('src/')) return path;
  const parts = path.split('/');
  return parts[0]?.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? path);
}

async function profileCpu(session: Session, send: Send, n: number): Promise<void> {
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 50 });
  await session.post('Profiler.start');
  for (let i = 0; i < n; i += 1) await send(WARM_UP + i);
  const { profile } = (await session.post('Profiler.stop')) as unknown as {
    profile: { nodes: CpuNode[]; startTime: number; endTime: number };
  };
  const byFile = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let samples = 0;
  for (const node of profile.nodes) {
    const file = fileOf(node.callFrame);
    byFile.set(file, (byFile.get(file) ?? 0) + node.hitCount);
    const name = frameName(node.callFrame);
    byFunction.set(name, (byFunction.get(name) ?? 0) + node.hitCount);
    samples += node.hitCount;
  }
  const usPerUpdate = (profile.endTime - profile.startTime) / n;
  process.stdout.write(`${usPerUpdate.toFixed(1)} µs wall per update, ${samples} samples\n`);
  printTop('µs per update, by file', byFile, usPerUpdate / samples, 'µs');
  printTop('µs per update, by function', byFunction, usPerUpdate / samples, 'µs');
}

/** User + system CPU of the main thread so far, in clock ticks (100 per second on Linux). */
function mainThreadTicks(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function measureThread(send: Send, n: number): Promise<void> {
  const ticks = mainThreadTicks();
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i += 1) await send(WARM_UP + i);
  const cpu = ((mainThreadTicks() - ticks) * 10_000) / n;
  const wall = Number(process.hrtime.bigint() - started) / 1000 / n;
  process.stdout.write(
    `main thread: ${cpu.toFixed(1)} µs CPU per update, ${wall.toFixed(1)} µs wall\n`,
  );
}

/** The first frame of a stack that is not Node's, nor this profiler's, as "function file:line". */
function creatorOf(stack: string): string {
  for (const line of stack.split('\n').slice(1)) {
    // Builtins (`Promise.then (<anonymous>)`) say how, not who: the caller is the next frame.
    if (/node:|update-profile|<anonymous>/.test(line)) continue;
    return line
      .trim()
      .replace(/^at /, '')
      .replace(/\(?\/.*\/(dist-bench|node_modules)\//, '')
      .replace(/:\d+\)?$/, '');
  }
  return '(Node internals only)';
}

async function countPromises(send: Send, n: number): Promise<void> {
  const creators = new Map<string, number>();
  const holder: { stack?: string } = {};
  const hook = createHook({
    init(_id, type) {
      if (type !== 'PROMISE') return;
      Error.captureStackTrace(holder);
      const creator = creatorOf(holder.stack ?? '');
      creators.set(creator, (creators.get(creator) ?? 0) + 1);
    },
  });
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 12;
  hook.enable();
  try {
    for (let i = 0; i < n; i += 1) await send(WARM_UP + i);
  } finally {
    hook.disable();
    Error.stackTraceLimit = limit;
  }
  const total = [...creators.values()].reduce((sum, count) => sum + count, 0);
  process.stdout.write(`${(total / n).toFixed(1)} promises per update (the sender's included)\n`);
  printTop('promises per update, by creating function', creators, 1 / n, '');
}

function readArguments(): { mode: Mode; app: GateApp; n: number } {
  const [mode = 'alloc', app = 'audit', count = '2000'] = process.argv.slice(2);
  const n = Number(count);
  if (!(MODES as readonly string[]).includes(mode)) {
    throw new Error(`mode "${mode}" is unknown: give one of ${MODES.join(', ')}.`);
  }
  if (!(GATE_APPS as readonly string[]).includes(app)) {
    throw new Error(`app "${app}" is unknown: give one of ${GATE_APPS.join(', ')}.`);
  }
  if (!Number.isInteger(n) || n < 1) throw new Error(`n must be a whole number of at least 1.`);
  return { mode: mode as Mode, app: app as GateApp, n };
}

async function main(): Promise<void> {
  const { mode, app, n } = readArguments();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-audit-profile-'));
  const module = gateModule(app, { sqlitePath: join(dir, 'audit.db') });
  const nest = await NestFactory.create(module, new FastifyAdapter(), { logger: false });
  try {
    await nest.init();
    const fastify = nest.getHttpAdapter().getInstance() as {
      ready(): Promise<unknown>;
      inject(r: object): Promise<{ statusCode: number; body: string }>;
    };
    await fastify.ready();
    const send: Send = async (i) => {
      const payload = { note: `note ${i}` };
      const reply = await fastify.inject({ method: 'PATCH', url: itemPath(i), payload });
      if (reply.statusCode !== 200) throw new Error(`PATCH answered ${reply.statusCode}`);
    };
    for (let i = 0; i < WARM_UP; i += 1) await send(i);
    process.stdout.write(`${app}, ${mode}, ${n} updates after ${WARM_UP} of warm-up\n`);
    if (mode === 'thread') return await measureThread(send, n);
    if (mode === 'promises') return await countPromises(send, n);
    const session = new Session();
    session.connect();
    if (mode === 'cpu') await profileCpu(session, send, n);
    else await profileAllocations(session, send, n);
    session.disconnect();
  } finally {
    await nest.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
