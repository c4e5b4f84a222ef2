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
  private held: Promise<void> | undefined;

  /** Holds every commit from now on (a store that hangs) until the returned function is called. */
  holdCommits(): () => void {
    let release: () => void = () => undefined;
    this.held = new Promise((resolve) => (release = resolve));
    return () => {
      this.held = undefined;
      release();
    };
  }

  override async append(events: readonly AuditEvent[]): Promise<void> {
    this.appendCalls += 1;
    if (this.held) await this.held;
    if (this.delayMs > 0) await sleep(this.delayMs);
    if (this.down) throw new Error('connection refused (test store is down)');
    await super.append(events);
  }
}
