import { performance } from 'node:perf_hooks';
import { buildAuditEventWithChanges, type AuditEventDraft } from '../../src/event/build-event';
import { eventJson } from '../../src/event/event-json';
import { Redactor } from '../../src/event/redact';
import { canonicalEventJson } from '../../src/integrity/canonical';
import { chainLink } from '../../src/integrity/chain-link';
import { makeItem } from '../app/item-state';
import { median, range } from './stats';

/**
 * What the hash chain (issue 11) costs per event, in-process: making the canonical JSON of the
 * stored event and its SHA-256 link, against serialising the event for the store (the work every
 * event pays already). Both stores make links in worker threads (see seal-cost.ts).
 */
export const CHAIN_COST_CASES = ['small', 'item'] as const;
export type ChainCostCase = (typeof CHAIN_COST_CASES)[number];

const LABELS: Readonly<Record<ChainCostCase, string>> = {
  small: 'update of a 5-field entity',
  item: 'update of the bench item (~1.3 KB before and after)',
};

/** One case, one round: median microseconds per event. */
export interface ChainCostRound {
  /** `JSON.stringify(event)`: the store's own serialisation (`eventJson`), uncached. */
  serialiseUs: number;
  /** Canonical JSON of that text plus the SHA-256 link. */
  linkUs: number;
  /** UTF-8 bytes of the event's JSON. */
  eventBytes: number;
}

const REPEATS = 2_000;
const SETTINGS = { redactor: new Redactor(), maxValueBytes: 65_536, maxEventBytes: 262_144 };

function draftOf(kind: ChainCostCase): AuditEventDraft {
  const base: AuditEventDraft = {
    action: 'item.update',
    outcome: 'success',
    level: 'info',
    actor: { id: 'u-1', email: 'ada@example.com', roles: ['admin'] },
    request: { method: 'PATCH', path: '/items/7', route: '/items/:id', id: 'req-1' },
    response: { statusCode: 200 },
    target: { type: 'item', id: '7' },
  };
  if (kind === 'small') {
    return {
      ...base,
      before: { id: 7, name: 'Ada', email: 'a@x.io', mfa: { phone: '1', enabled: true } },
      after: { id: 7, name: 'Ada', email: 'a@x.io', mfa: { phone: '2', enabled: true } },
    };
  }
  const before = makeItem('7');
  return { ...base, before, after: { ...before, note: 'changed', version: 2 } };
}

function perEventUs(run: (i: number) => void): number {
  const times: number[] = [];
  for (let block = 0; block < 20; block++) {
    const started = performance.now();
    for (let i = 0; i < REPEATS / 20; i++) run(i);
    times.push(((performance.now() - started) * 1000) / (REPEATS / 20));
  }
  return median(times);
}

/** Measures both cases in interleaved rounds, after one warm-up round. */
export function measureChainCost(rounds: number): Map<ChainCostCase, ChainCostRound[]> {
  const results = new Map<ChainCostCase, ChainCostRound[]>(CHAIN_COST_CASES.map((c) => [c, []]));
  for (let round = 0; round <= rounds; round++) {
    for (const kind of CHAIN_COST_CASES) {
      const events = Array.from(
        { length: REPEATS / 20 },
        () => buildAuditEventWithChanges(draftOf(kind), SETTINGS).event,
      );
      const texts = events.map((event) => eventJson(event));
      let previous: Buffer | null = null;
      // What eventJson() does once per event, without its per-event cache.
      const serialiseUs = perEventUs((i) => JSON.stringify(events[i]));
      const linkUs = perEventUs((i) => {
        previous = chainLink(previous, canonicalEventJson(texts[i]!));
      });
      if (round > 0) {
        results.get(kind)?.push({
          serialiseUs,
          linkUs,
          eventBytes: Buffer.byteLength(texts[0]!),
        });
      }
    }
  }
  return results;
}

/** The results as Markdown lines. */
export function chainCostSection(
  results: ReadonlyMap<ChainCostCase, readonly ChainCostRound[]>,
): string[] {
  const fmt = (n: number): string => n.toFixed(1);
  const rows = CHAIN_COST_CASES.map((kind) => {
    const rounds = results.get(kind) ?? [];
    const link = rounds.map((r) => r.linkUs);
    const [low, high] = range(link);
    const serialise = median(rounds.map((r) => r.serialiseUs));
    return `| ${LABELS[kind]} | ${rounds[0]?.eventBytes ?? 0} | ${fmt(median(link))} | ${fmt(low)}–${fmt(high)} | ${fmt(serialise)} |`;
  });
  return [
    `In-process, per event: the canonical JSON (RFC 8785) of the stored event's JSON and its SHA-256 link, against serialising the event for the store (\`eventJson\`), median microseconds over the rounds (${REPEATS} events per case and round). This is CPU of whichever thread makes the link:`,
    '',
    '| Event | bytes | µs per link (median) | min–max | µs to serialise it (reference) |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `- SQLite makes the link in the store's worker thread: 0 µs on the event loop (the instruction gate counts the audited update's main thread with the chain on). A store opened on a \`Database\` of the application's makes it on the application's thread.`,
    `- PostgreSQL's seal makes it in a worker thread too; what the seal still costs the application's thread is measured below.`,
  ];
}
