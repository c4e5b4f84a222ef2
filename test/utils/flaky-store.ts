import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditEvent } from '../../src';
import { InMemoryAuditStore } from '../../src';

/**
 * The real in-memory store with a switch that makes commits fail (a database blip) or slow
 * (a store that falls behind), for failure-policy tests.
 */
export class FlakyStore extends InMemoryAuditStore {
  down = false;
  delayMs = 0;
  appendCalls = 0;

  override async append(events: readonly AuditEvent[]): Promise<void> {
    this.appendCalls += 1;
    if (this.delayMs > 0) await sleep(this.delayMs);
    if (this.down) throw new Error('connection refused (test store is down)');
    await super.append(events);
  }
}
