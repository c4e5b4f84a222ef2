import type { AuditChangeRecorder } from './audit-change-recorder';
import { closeAfterCaptures } from './close-after-captures';

/** A recorder whose captures settle when the test says so, counting the waits. */
function recorder(): { recorder: AuditChangeRecorder; settle(): void; waits: () => number } {
  let waits = 0;
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  const fake = {
    settled: () => {
      waits += 1;
      return settled;
    },
  } as unknown as AuditChangeRecorder;
  return { recorder: fake, settle, waits: () => waits };
}

/** An ORM object with a close method that records its calls and its `this`. */
class FakeOrm {
  calls: unknown[][] = [];
  self: unknown;
  destroy(...args: unknown[]): Promise<string> {
    this.calls.push(args);
    this.self = this;
    return Promise.resolve('closed');
  }
}

describe('closeAfterCaptures', () => {
  it('closes only once the captures in flight settled, with the original this and arguments', async () => {
    const { recorder: r, settle } = recorder();
    const orm = new FakeOrm();
    closeAfterCaptures(orm as unknown as Record<'destroy', () => Promise<unknown>>, 'destroy', r);
    const closing = orm.destroy(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(orm.calls).toEqual([]);
    settle();
    await expect(closing).resolves.toBe('closed');
    expect(orm.calls).toEqual([[true]]);
    expect(orm.self).toBe(orm);
  });

  it('wraps a method once, however often it is installed', async () => {
    const { recorder: r, settle, waits } = recorder();
    const orm = new FakeOrm();
    const target = orm as unknown as Record<'destroy', () => Promise<unknown>>;
    closeAfterCaptures(target, 'destroy', r);
    const wrapped = orm.destroy;
    closeAfterCaptures(target, 'destroy', r);
    expect(orm.destroy).toBe(wrapped);
    settle();
    await orm.destroy();
    expect(waits()).toBe(1);
    expect(orm.calls).toHaveLength(1);
  });
});
