import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditEvent } from '../../src';
import { InMemoryAuditStore } from '../../src';
import { Gate } from './until';

/**
 * The real in-memory store with a switch that makes commits fail (a database blip) or slow
 * (a store that falls behind), for failure-policy tests.
 */
export class FlakyStore extends InMemoryAuditStore {
  down = false;
  delayMs = 0;
  appendCalls = 0;
  private readonly commits = new Gate();

  /** Holds every commit from now on (a store that hangs) until the returned function is called. */
  holdCommits(): () => void {
    return this.commits.close();
  }

  override async append(events: readonly AuditEvent[]): Promise<void> {
    this.appendCalls += 1;
    const held = this.commits.closed;
    if (held) await held;
    if (this.delayMs > 0) await sleep(this.delayMs);
    if (this.down) throw new Error('connection refused (test store is down)');
    await super.append(events);
  }
}
