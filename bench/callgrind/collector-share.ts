/**
 * Splits a callgrind dump into V8's garbage collector and the rest. Hand-written on purpose:
 * callgrind_annotate gives inclusive costs per function, which overlap where the collector's
 * entry points nest; this sums each function's own cost once, plus what collector code calls.
 *
 * Why the gate needs it: how many of V8's collection cycles fall inside a 500-request window
 * depends on when the SQLite writer thread answers, so the same build counted 1.84M or 2.08M
 * instructions per audited update from run to run, the whole difference in the collector
 * (0.63M or 0.85M); outside it, four runs agree within 3.5%.
 */
import { readFileSync } from 'node:fs';

/** V8's heap and collector code (C++ symbols of the node binary). */
const COLLECTOR =
  /v8::internal::(?:Heap::|Scaveng|IncrementalMarking|MarkCompact|MinorMarkCompact|ConcurrentMarking|Sweeper|Evacuat|Marking|MemoryReducer|ArrayBufferSweeper|GCTracer|RememberedSet|SlotSet|TypedSlotSet|MemoryAllocator|LargeObjectSpace|PagedSpace|NewSpace|SemiSpace|FreeList|MemoryChunk|Page::|WeakObjects|LocalHeap::)|heap::base::|Scavenge|MarkingVisitor|MarkingState|IterateAndScavengePromoted/;

/** Instructions of one dump: all of them, and those spent in (or called by) the collector. */
export interface CollectorShare {
  total: number;
  collector: number;
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
  const verdicts = new Map<string, boolean>();
  const inCollector = (name: string): boolean => {
    let verdict = verdicts.get(name);
    if (verdict === undefined) verdicts.set(name, (verdict = COLLECTOR.test(name)));
    return verdict;
  };
  let total = 0;
  let collector = 0;
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
        // callee's own lines: it only moves to the collector when collector code called out.
        if (inCollector(current) && !inCollector(callee)) collector += cost;
        callLine = false;
      } else {
        total += cost;
        if (inCollector(current)) collector += cost;
      }
    }
  }
  return { total, collector };
}
