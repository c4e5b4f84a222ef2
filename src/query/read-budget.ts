import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AuditEvent } from '../event/audit-event';

/**
 * Largest JSON size of one event drawn whole in a page of events (API list and history, viewer
 * timeline). A larger event is sent collapsed: its facts without its payloads, and how big it is;
 * its own endpoint (`events/:id`) serves it whole, bounded by `maxEventBytes` at write time.
 */
export const INLINE_EVENT_BYTES = 16 * 1024;

/** Events measured between two yields to the event loop, so a page of large events never blocks it long. */
const EVENTS_PER_TURN = 8;

/** The payloads an event collapsed in a page goes without. */
const PAYLOAD_KEYS: readonly string[] = [
  'changes',
  'body',
  'response',
  'filter',
  'results',
  'labels',
  'error',
  'truncated',
] satisfies readonly PayloadKey[];

type PayloadKey =
  'changes' | 'body' | 'response' | 'filter' | 'results' | 'labels' | 'error' | 'truncated';

/** An event of a page whose payloads were left out: fetch `events/:id` for the whole event. */
export type CollapsedAuditEvent = Omit<AuditEvent, PayloadKey> & {
  /** Why the payloads are missing, and the JSON size of the whole event in bytes. */
  collapsed: { reason: 'too large for a page'; bytes: number };
};

/** An event as a page carries it: whole, or collapsed. */
export type AuditPageEvent = AuditEvent | CollapsedAuditEvent;

/** Whether a page event is collapsed. */
export function isCollapsed(event: AuditPageEvent): event is CollapsedAuditEvent {
  return 'collapsed' in event;
}

/**
 * The events of a page, each larger than {@link INLINE_EVENT_BYTES} collapsed. Yields to the
 * event loop every few events: measuring means serializing, which is the costly part.
 */
export async function withinReadBudget(events: readonly AuditEvent[]): Promise<AuditPageEvent[]> {
  const out: AuditPageEvent[] = [];
  for (let i = 0; i < events.length; i++) {
    if (i > 0 && i % EVENTS_PER_TURN === 0) await nextTurn();
    const event = events[i]!;
    const bytes = Buffer.byteLength(JSON.stringify(event), 'utf8');
    if (bytes <= INLINE_EVENT_BYTES) {
      out.push(event);
      continue;
    }
    const kept: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(event)) {
      if (!PAYLOAD_KEYS.includes(key)) kept[key] = value;
    }
    out.push({
      ...(kept as Omit<AuditEvent, PayloadKey>),
      collapsed: { reason: 'too large for a page', bytes },
    });
  }
  return out;
}
