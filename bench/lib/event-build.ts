import { performance } from 'node:perf_hooks';
import {
  AUDIT_EVENT_MAX_NODES,
  buildAuditEventWithChanges,
  type AuditEventDraft,
} from '../../src/event/build-event';
import { Redactor } from '../../src/event/redact';
import { median, range } from './stats';

/**
 * How long building one event blocks the event loop, in-process: a typical update, a captured
 * 1 MB / 60,000-key request body (issue 9: "adds at most ~20 ms"), and an update whose states
 * are that large too. Beside them, the least any reading of that body costs: `Object.keys` of it,
 * which every walk over it (ours, JSON.stringify's) has to pay first.
 */
export const EVENT_BUILD_CASES = ['typical', 'body-1mb', 'patch-1mb', 'keys-floor'] as const;
export type EventBuildCase = (typeof EVENT_BUILD_CASES)[number];

export const EVENT_BUILD_LABELS: Readonly<Record<EventBuildCase, string>> = {
  typical: 'typical update (5-field entity, small body)',
  'body-1mb': 'update with a captured 1 MB / 60,000-key body',
  'patch-1mb': 'update whose before, after and body have 60,000 keys each',
  'keys-floor': 'reference: Object.keys of the 60,000-key body alone',
};

/** Builds per measurement: enough for a stable figure, few enough to stay quick. */
const REPEATS: Readonly<Record<EventBuildCase, number>> = {
  typical: 2_000,
  'body-1mb': 5,
  'patch-1mb': 3,
  'keys-floor': 5,
};

/** The module's defaults (resolveAuditOptions): 64 KiB per value, 256 KiB per event. */
const SETTINGS = { redactor: new Redactor(), maxValueBytes: 65_536, maxEventBytes: 262_144 };

/** One case, one round. */
export interface EventBuildRound {
  /** Median milliseconds per build (or per Object.keys call for the reference). */
  ms: number;
  /** Values the build visited (0 for the reference). */
  visited: number;
  /** UTF-8 size of the built event's JSON (0 for the reference). */
  eventBytes: number;
}

/** `count` keys of about 21 bytes of JSON each (`"field_000000":"val",`). */
function wideObject(count: number, value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < count; i++) out[`field_${String(i).padStart(6, '0')}`] = value;
  return out;
}

function drafts(): Record<Exclude<EventBuildCase, 'keys-floor'>, AuditEventDraft> {
  const base: AuditEventDraft = {
    action: 'user.update',
    outcome: 'success',
    level: 'info',
    actor: { id: 'u-1', email: 'ada@example.com', roles: ['admin'] },
    source: { ip: '10.0.0.7', userAgent: 'bench' },
    request: { method: 'PATCH', path: '/users/42', route: '/users/:id', id: 'req-1' },
    response: { statusCode: 200 },
    target: { type: 'user', id: '42' },
  };
  // Parsed from JSON, as a body parser hands it over (a dictionary-mode object, like in an app).
  const body = JSON.parse(JSON.stringify(wideObject(60_000, 'val'))) as Record<string, string>;
  return {
    typical: {
      ...base,
      before: { id: 42, name: 'Ada', email: 'a@x.io', mfa: { phone: '1', enabled: true } },
      after: { id: 42, name: 'Ada', email: 'a@x.io', mfa: { phone: '2', enabled: true } },
      body: { mfa: { phone: '2' } },
    },
    'body-1mb': {
      ...base,
      before: { id: 42, name: 'Ada' },
      after: { id: 42, name: 'Ada L.' },
      body,
    },
    'patch-1mb': {
      ...base,
      before: JSON.parse(JSON.stringify(wideObject(60_000, 'old'))) as unknown,
      after: JSON.parse(JSON.stringify(body)) as unknown,
      body,
    },
  };
}

function timeOne(run: () => void, repeats: number): number {
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    run();
    times.push(performance.now() - started);
  }
  return median(times);
}

/**
 * Measures every case in interleaved rounds (after one warm-up round), so drift of the machine
 * hits them all alike.
 */
export function measureEventBuild(rounds: number): Map<EventBuildCase, EventBuildRound[]> {
  const inputs = drafts();
  const floorBody = inputs['body-1mb'].body as object;
  const results = new Map<EventBuildCase, EventBuildRound[]>(EVENT_BUILD_CASES.map((c) => [c, []]));
  for (let round = 0; round <= rounds; round++) {
    for (const kind of EVENT_BUILD_CASES) {
      let result: EventBuildRound;
      if (kind === 'keys-floor') {
        result = {
          ms: timeOne(() => Object.keys(floorBody), REPEATS[kind]),
          visited: 0,
          eventBytes: 0,
        };
      } else {
        const draft = inputs[kind];
        const ms = timeOne(() => buildAuditEventWithChanges(draft, SETTINGS), REPEATS[kind]);
        // Measured apart: serialising the event for its size is not part of the build.
        const built = buildAuditEventWithChanges(draft, SETTINGS);
        result = {
          ms,
          visited: built.visited,
          eventBytes: Buffer.byteLength(JSON.stringify(built.event)),
        };
      }
      // Round 0 warms the code up (JIT) and is not counted.
      if (round > 0) results.get(kind)?.push(result);
    }
  }
  return results;
}

/** The results as Markdown lines: a table and the verdict on issue 9's target. */
export function eventBuildSection(
  results: ReadonlyMap<EventBuildCase, readonly EventBuildRound[]>,
): string[] {
  const fmt = (n: number): string => (n < 1 ? n.toFixed(3) : n.toFixed(1));
  const rows = EVENT_BUILD_CASES.map((kind) => {
    const rounds = results.get(kind) ?? [];
    const ms = rounds.map((r) => r.ms);
    const [low, high] = range(ms);
    const last = rounds[rounds.length - 1];
    return `| ${EVENT_BUILD_LABELS[kind]} | ${fmt(median(ms))} | ${fmt(low)}–${fmt(high)} | ${last?.visited ?? 0} | ${last?.eventBytes ?? 0} |`;
  });
  const ms = (kind: EventBuildCase): number => median((results.get(kind) ?? []).map((r) => r.ms));
  const added = ms('body-1mb') - ms('typical');
  const floor = ms('keys-floor');
  return [
    `In-process, one build at a time with the module's default limits (64 KiB per value, 256 KiB per event, work budget ${AUDIT_EVENT_MAX_NODES} values): median milliseconds the build blocks the event loop, over the rounds.`,
    '',
    '| Case | ms per event (median) | min–max | values visited | event bytes |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `- A 1 MB / 60,000-key captured body adds **${fmt(added)} ms** to an event (target of issue 9: at most ~20 ms); ${fmt(floor)} ms of it is the native floor (\`Object.keys\` of the body), paid by any code that reads it.`,
    `- Values visited do not grow with the input past the budget: the body is read no further than 64 KiB of JSON, the states no further than the budget.`,
  ];
}
