/**
 * Splits a callgrind dump into V8's garbage collector, V8's compilers and the rest. Hand-written on
 * purpose: callgrind_annotate gives inclusive costs per function, which overlap where the
 * collector's entry points nest; this sums each function's own cost once, plus what collector or
 * compiler code calls.
 *
 * Why the gate needs it: how many of V8's collection cycles fall inside a 500-request window
 * depends on when the SQLite writer thread answers, so the same build counted 1.84M or 2.08M
 * instructions per audited update from run to run, the whole difference in the collector
 * (0.63M or 0.85M); outside it, four runs agree within 3.5%. The compilers likewise: 3,000 + 3,000
 * warm-up updates do not finish V8's tiering, and two runs of the same build spent 16–51k or
 * 148–429k instructions per update compiling in their windows (2026-12-05), which alone moved the
 * gated count from 1.10M to 1.25M. Code that runs unoptimized (interpreter, baseline) is still
 * counted: only the compiling is left out.
 */
import { readFileSync } from 'node:fs';

/**
 * V8's heap and collector code (C++ symbols of the node binary), write barriers included: the
 * barrier is the collector's bookkeeping on every pointer store, and while an incremental marking
 * cycle runs (whether one overlaps a window depends on thread timing) it takes the slow path.
 * One build's unaudited read counted 67k, 71k and 73k outside the collector in three runs, 2.7k of
 * the difference in `Builtins_RecordWriteSaveFP` alone.
 */
const COLLECTOR =
  /v8::internal::(?:Heap::|Heap_|Scaveng|IncrementalMarking|MarkCompact|MinorMarkCompact|ConcurrentMarking|Sweeper|Evacuat|Marking|MemoryReducer|ArrayBufferSweeper|GCTracer|RememberedSet|SlotSet|TypedSlotSet|MemoryAllocator|LargeObjectSpace|PagedSpace|NewSpace|SemiSpace|FreeList|MemoryChunk|Page::|WeakObjects|LocalHeap::|WriteBarrier::|heap_internals::|MarkBit|CollectionBarrier)|heap::base::|Scavenge|MarkingVisitor|MarkingState|IterateAndScavengePromoted|Builtins_RecordWrite|Builtins_EphemeronKeyBarrier/;

/**
 * V8's compilers (C++ symbols of the node binary): parsing, bytecode, baseline (Sparkplug), Maglev
 * and TurboFan, and the runtime calls that start them. `Builtins_CompileLazy` is not one of them:
 * it is the trampoline every first call goes through, and its callees are the code it runs.
 */
const COMPILER =
  /v8::internal::(?:compiler::|maglev::|baseline::|interpreter::|Compiler::|Parser|PreParser|Scanner|Runtime_Compile|Runtime_InstallBaselineCode|OptimizingCompileDispatcher|\(anonymous namespace\)::GetOrCompileOptimized|(?:Turbofan|Optimized|Unoptimized)CompilationJob|BytecodeGenerator|AstValueFactory)/;

/** The engine work a dump's function belongs to, if any. */
type EngineWork = 'collector' | 'compiler';

/**
 * Instructions of one dump: all of them, and those spent in (or called by) the collector and the
 * compilers.
 */
export interface CollectorShare {
  total: number;
  collector: number;
  compiler: number;
}

/** Reads a callgrind output file (one event, `Ir`) and splits its cost. */
export function collectorShare(file: string): CollectorShare {
  const names = new Map<string, string>();
  // Names are compressed: "(12) name" the first time, "(12)" after.
  const nameOf = (spec: string): string => {
    const match = /^\((\d+)\)(?: (.*))?$/.exec(spec);
    if (!match) return spec;
    if (match[2] !== undefined) names.set(match[1]!, match[2]);
    return names.get(match[1]!) ?? match[1]!;
  };
  const verdicts = new Map<string, EngineWork | null>();
  const workOf = (name: string): EngineWork | null => {
    let verdict = verdicts.get(name);
    if (verdict === undefined) {
      verdict = COLLECTOR.test(name) ? 'collector' : COMPILER.test(name) ? 'compiler' : null;
      verdicts.set(name, verdict);
    }
    return verdict;
  };
  const share: CollectorShare = { total: 0, collector: 0, compiler: 0 };
  let current = '';
  let callee = '';
  let callLine = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('fn=')) current = nameOf(line.slice(3));
    else if (line.startsWith('cfn=')) callee = nameOf(line.slice(4));
    else if (line.startsWith('calls=')) callLine = true;
    else if (/^[\d+*-]/.test(line)) {
      const cost = Number(line.split(' ')[1] ?? 0);
      const work = workOf(current);
      if (callLine) {
        // The line after `calls=` is the call's inclusive cost, already counted in the
        // callee's own lines: it only moves to the collector (or the compilers) when their
        // code called out of them.
        if (work !== null && workOf(callee) === null) share[work] += cost;
        callLine = false;
      } else {
        share.total += cost;
        if (work !== null) share[work] += cost;
      }
    }
  }
  return share;
}
