/**
 * Splits a callgrind dump into V8's garbage collector, V8's compilers and the rest. Hand-written on
 * purpose: callgrind_annotate gives inclusive costs per function, which overlap where the
 * collector's entry points nest; this sums each function's own cost once, plus what collector or
 * compiler code calls outside them.
 *
 * Why the gate needs it: how many of V8's collection cycles fall inside a 500-request window
 * depends on when the SQLite writer thread answers, so the same build counted 1.84M or 2.08M
 * instructions per audited update from run to run, the whole difference in the collector
 * (0.63M or 0.85M). The compilers likewise: 3,000 + 3,000 warm-up updates do not finish V8's
 * tiering, and two runs of the same build spent 24k or 452k instructions per update compiling in
 * their lowest windows (2026-12-05), which alone moved the gated count from 1.10M to 1.25M. Code
 * that runs unoptimized (interpreter, baseline) is still counted: only the compiling is left out.
 *
 * A helper that only engine code calls is engine work too (see `classify`): the scavenger runs
 * its tasks through the platform's `Join`, which calls back into named collector code. Counted as
 * the rest, that work was taken out twice, once in the call into `Join` and once in the collector
 * code under it, by an amount that moved with the collection cycles: one build's unaudited read
 * counted 61k to 73k in four runs that way, and 154,037 to 155,160 since.
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

/** A dump as own costs per function and inclusive costs per call. */
interface CallGraph {
  total: number;
  /** Own cost of each function. */
  self: Map<string, number>;
  /** Inclusive cost of each caller's calls, by callee. */
  calls: Map<string, Map<string, number>>;
}

/** Reads a callgrind output file (one event, `Ir`). */
function readCallGraph(file: string): CallGraph {
  const names = new Map<string, string>();
  // Names are compressed: "(12) name" the first time, "(12)" after.
  const nameOf = (spec: string): string => {
    const match = /^\((\d+)\)(?: (.*))?$/.exec(spec);
    if (!match) return spec;
    if (match[2] !== undefined) names.set(match[1]!, match[2]);
    return names.get(match[1]!) ?? match[1]!;
  };
  const graph: CallGraph = { total: 0, self: new Map(), calls: new Map() };
  let current = '';
  let callee = '';
  let callLine = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('fn=')) current = nameOf(line.slice(3));
    else if (line.startsWith('cfn=')) callee = nameOf(line.slice(4));
    else if (line.startsWith('calls=')) callLine = true;
    else if (/^[\d+*-]/.test(line)) {
      const cost = Number(line.split(' ')[1] ?? 0);
      if (callLine) {
        // The line after `calls=` is the call's inclusive cost, already counted in the
        // callee's own lines.
        let byCallee = graph.calls.get(current);
        if (byCallee === undefined) graph.calls.set(current, (byCallee = new Map()));
        byCallee.set(callee, (byCallee.get(callee) ?? 0) + cost);
        callLine = false;
      } else {
        graph.total += cost;
        graph.self.set(current, (graph.self.get(current) ?? 0) + cost);
      }
    }
  }
  return graph;
}

/**
 * The engine work of every function: by name, and then every function that only engine work of
 * one kind calls (a thread pool's `Join` that runs the scavenger's tasks, a page evacuation job).
 * Such a helper may call back into named collector code; counted as the rest, its cost would be
 * taken twice (once in the call into it, once in the collector code it calls), by an amount that
 * moves with the collection cycles in the window.
 */
function classify(graph: CallGraph): Map<string, EngineWork | null> {
  const work = new Map<string, EngineWork | null>();
  const callers = new Map<string, Set<string>>();
  for (const [caller, byCallee] of graph.calls) {
    for (const callee of byCallee.keys()) {
      let set = callers.get(callee);
      if (set === undefined) callers.set(callee, (set = new Set()));
      set.add(caller);
    }
  }
  const named = (name: string): EngineWork | null =>
    COLLECTOR.test(name) ? 'collector' : COMPILER.test(name) ? 'compiler' : null;
  for (const name of new Set([...graph.self.keys(), ...callers.keys()]))
    work.set(name, named(name));
  for (let changed = true; changed;) {
    changed = false;
    for (const [name, verdict] of work) {
      if (verdict !== null) continue;
      const kinds = new Set<EngineWork | null>();
      for (const caller of callers.get(name) ?? []) kinds.add(work.get(caller) ?? null);
      const [only] = kinds;
      if (kinds.size === 1 && only) {
        work.set(name, only);
        changed = true;
      }
    }
  }
  return work;
}

/** Reads a callgrind output file (one event, `Ir`) and splits its cost. */
export function collectorShare(file: string): CollectorShare {
  const graph = readCallGraph(file);
  const work = classify(graph);
  const share: CollectorShare = { total: graph.total, collector: 0, compiler: 0 };
  for (const [name, cost] of graph.self) {
    const kind = work.get(name);
    if (kind) share[kind] += cost;
  }
  // What engine code calls outside it (libc, the embedder) is the engine's work too.
  for (const [caller, byCallee] of graph.calls) {
    const kind = work.get(caller);
    if (!kind) continue;
    for (const [callee, cost] of byCallee) if (!work.get(callee)) share[kind] += cost;
  }
  return share;
}
