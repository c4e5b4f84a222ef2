import { makeEvent } from '../../../test/fixtures/events';
import type { AuditQueryResult } from '../audit-query';
import {
  AUDIT_EXPORT_FORMATS,
  auditExportStream,
  EXPORT_CHUNK_CHARS,
  type AuditExportEnd,
} from './audit-export-stream';

const VALUE_CHARS = 100_000;
const large = (i: number) => makeEvent({ labels: { text: `${'x'.repeat(VALUE_CHARS)}${i}` } });

/** Two pages of 20 large events each (about 4 MB of NDJSON), the second read on demand. */
function twoPages(): { first: AuditQueryResult; next: () => Promise<AuditQueryResult> } {
  const page = (from: number) => Array.from({ length: 20 }, (_, i) => large(from + i));
  return {
    first: { items: page(0), nextCursor: 'c1' },
    // Answers without a turn of the event loop, as a store that has the page at hand does.
    next: () => Promise.resolve({ items: page(20) }),
  };
}

describe('auditExportStream', () => {
  it('writes a page of large events in bounded chunks and yields to the event loop between them', async () => {
    let turns = 0;
    let running = true;
    const tick = (): void => {
      turns += 1;
      if (running) setImmediate(tick);
    };
    const ends: AuditExportEnd[] = [];
    const stream = auditExportStream(AUDIT_EXPORT_FORMATS.ndjson, twoPages(), 1000, (end) => {
      ends.push(end);
      return Promise.resolve();
    });
    setImmediate(tick);
    const chunks: string[] = [];
    for await (const chunk of stream) chunks.push(String(chunk));
    running = false;

    const text = chunks.join('');
    expect(text.split('\n').filter((line) => line.includes('x'.repeat(1000)))).toHaveLength(40);
    expect(ends).toEqual([{ count: 40, status: 'complete' }]);
    // Each chunk stops at the first row that reaches the budget: at most budget + one row.
    for (const chunk of chunks)
      expect(chunk.length).toBeLessThan(EXPORT_CHUNK_CHARS + 2 * VALUE_CHARS);
    // About 4 MB in chunks of 256 KiB: more than a dozen chunks, and a turn of other work
    // between each two (other requests are served meanwhile).
    expect(chunks.length).toBeGreaterThan(12);
    expect(turns).toBeGreaterThanOrEqual(chunks.length - 1);
  });
});
