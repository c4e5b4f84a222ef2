import fc from 'fast-check';
import { generateKeyPairSync } from 'node:crypto';
import { formatCheckpoint } from '../ecs/checkpoint.formatter';
import { makeEvent } from '../../test/fixtures/events';
import { toEventColumns } from '../event/event-columns';
import { canonicalEventJson, CANONICAL_FORMAT } from './canonical';
import { chainLink } from './chain-link';
import type { AuditChainSource, ChainRow, UnchainedEvent } from './chain-source';
import { AuditCheckpointError } from './audit-checkpoint.error';
import { parseCheckpointLines, signCheckpoint, type AuditCheckpoint } from './checkpoint';
import { ChainRangeError, verifyChain, type ChainBreakKind } from './verify';

/** A chain held in memory, read the way a store serves it (pages in storage order). */
class RowsSource implements AuditChainSource {
  constructor(
    readonly rows: ChainRow[],
    readonly outside: UnchainedEvent[] = [],
  ) {}

  chainRows(after: number, limit: number): Promise<ChainRow[]> {
    return Promise.resolve(this.rows.filter((row) => row.position > after).slice(0, limit));
  }

  chainRowAt(seq: number) {
    const row = this.rows.find((candidate) => candidate.seq === seq);
    return Promise.resolve(row && { position: row.position, hash: row.hash });
  }

  chainHead() {
    const chained = this.rows.filter((row) => row.seq !== null && row.hash !== null);
    const head = chained.reduce<ChainRow | undefined>(
      (best, row) => (best === undefined || row.seq! > best.seq! ? row : best),
      undefined,
    );
    return Promise.resolve(head && { seq: head.seq!, hash: head.hash! });
  }

  unchainedEvents(limit: number): Promise<UnchainedEvent[]> {
    return Promise.resolve(this.outside.slice(0, limit));
  }
}

/** `n` events chained from the genesis, as a store writes them. */
function chainOf(n: number): ChainRow[] {
  let previous: Buffer | null = null;
  return Array.from({ length: n }, (_, i) => {
    const event = makeEvent({
      timestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      actor: { type: 'user', id: `u-${i % 7}`, authenticated: true },
      target: { type: 'order', id: String(i) },
      changes: {
        fields: ['note'],
        diff: [{ path: ['note'], op: 'changed', before: 'a', after: `n${i}` }],
      },
    });
    const payload = canonicalEventJson(JSON.stringify(event));
    previous = chainLink(previous, payload);
    return {
      position: i + 1,
      seq: i + 1,
      hash: previous,
      format: CANONICAL_FORMAT,
      payload,
      canonical: true,
      columns: toEventColumns(event),
    };
  });
}

/** A deep copy, so each tampering starts from an intact chain. */
function copyOf(rows: readonly ChainRow[]): ChainRow[] {
  return rows.map((row) => ({
    ...row,
    hash: row.hash && Buffer.from(row.hash),
    columns: row.columns && { ...row.columns },
  }));
}

async function breakOf(rows: ChainRow[], outside?: UnchainedEvent[]) {
  const result = await verifyChain(new RowsSource(rows, outside), { pageSize: 7 });
  expect(result.intact).toBe(false);
  return result.break!;
}

describe('verifyChain', () => {
  const intact = chainOf(40);

  it('finds an untouched chain intact, page by page, up to its head', async () => {
    const result = await verifyChain(new RowsSource(copyOf(intact)), { pageSize: 7 });
    expect(result).toMatchObject({ intact: true, from: 1, verifiedTo: 40, events: 40 });
    expect(result.head).toEqual({ seq: 40, hash: Buffer.from(intact[39]!.hash!).toString('hex') });
    expect(result.break).toBeUndefined();
  });

  it('finds an empty chain intact', async () => {
    const result = await verifyChain(new RowsSource([]));
    expect(result).toMatchObject({ intact: true, verifiedTo: undefined, events: 0 });
    expect(result.head).toBeUndefined();
  });

  it('checks a range, trusting the hash before it', async () => {
    const result = await verifyChain(new RowsSource(copyOf(intact)), { from: 11, to: 20 });
    expect(result).toMatchObject({ intact: true, from: 11, verifiedTo: 20, events: 10 });
  });

  it('refuses a range that is not in the chain', async () => {
    const source = new RowsSource(copyOf(intact));
    await expect(verifyChain(source, { from: 0 })).rejects.toThrow(ChainRangeError);
    await expect(verifyChain(source, { from: 41 })).rejects.toThrow(/ends at #40/);
    await expect(verifyChain(source, { from: 5, to: 4 })).rejects.toThrow(ChainRangeError);
  });

  it.each<[string, (rows: ChainRow[]) => void, ChainBreakKind, number]>([
    [
      'an edited payload',
      (rows) => {
        rows[9]!.payload = rows[9]!.payload.replace('"u-2"', '"u-3"');
      },
      'modified',
      10,
    ],
    [
      'an edited column',
      (rows) => {
        rows[9]!.columns!.outcome = 'failure';
      },
      'modified',
      10,
    ],
    [
      'a payload and its column edited alike',
      (rows) => {
        rows[9]!.payload = rows[9]!.payload.replace('"success"', '"failure"');
        rows[9]!.columns!.outcome = 'failure';
      },
      'modified',
      10,
    ],
    ['a deleted row', (rows) => void rows.splice(9, 1), 'deleted', 10],
    [
      'a deleted event row (payload kept)',
      (rows) => {
        rows[9]!.columns = null;
      },
      'deleted',
      10,
    ],
    [
      'a forged row without a link',
      (rows) => {
        const forged = { ...rows[9]!, position: 9.5, seq: null, hash: null };
        rows.splice(9, 0, forged);
      },
      'inserted',
      10,
    ],
    [
      'a forged row numbered into the chain',
      (rows) => {
        const forged = { ...rows[20]!, position: 9.5, seq: 10, hash: Buffer.alloc(32, 1) };
        rows.splice(9, 0, forged);
        for (const row of rows.slice(10)) row.seq! += 1;
      },
      'inserted',
      10,
    ],
    [
      'two rows that exchanged contents',
      (rows) => {
        const [a, b] = [rows[9]!, rows[10]!];
        [a.payload, b.payload] = [b.payload, a.payload];
        [a.columns, b.columns] = [b.columns, a.columns];
      },
      'reordered',
      10,
    ],
    [
      'two rows that exchanged sequence numbers',
      (rows) => {
        [rows[9]!.seq, rows[10]!.seq] = [rows[10]!.seq, rows[9]!.seq];
      },
      'reordered',
      10,
    ],
    [
      'a changed canonical format',
      (rows) => {
        rows[9]!.format = 2;
      },
      'modified',
      10,
    ],
  ])('detects %s with its kind and sequence number', async (_name, tamper, kind, seq) => {
    const rows = copyOf(intact);
    tamper(rows);
    expect(await breakOf(rows)).toMatchObject({ kind, seq });
  });

  it("names a column that a driver read as a BigInt, instead of throwing JSON's TypeError", async () => {
    // A pg type parser that turns integer columns into BigInts (schema_version is an integer).
    const rows = copyOf(intact);
    rows[9]!.columns!.schemaVersion = 1n as never;
    expect(await breakOf(rows)).toMatchObject({
      kind: 'modified',
      seq: 10,
      message: '#10 was modified: its column schemaVersion holds 1n where the chained event says 1',
    });
  });

  it('names an event stored outside the chain', async () => {
    const found = await breakOf(copyOf(intact), [{ position: 41, id: 'forged' }]);
    expect(found).toMatchObject({ kind: 'inserted', eventId: 'forged' });
  });

  it("links a store's JSON as written (other key order, spaces) through its canonical form", async () => {
    const written = (row: ChainRow): ChainRow => {
      const event = JSON.parse(row.payload) as Record<string, unknown>;
      const reversed = Object.fromEntries(Object.entries(event).reverse());
      return { ...row, payload: JSON.stringify(reversed, null, 1), canonical: false };
    };
    const rows = copyOf(intact).map(written);
    expect(rows[0]!.payload).not.toBe(intact[0]!.payload);
    const result = await verifyChain(new RowsSource(rows), { pageSize: 7 });
    expect(result).toMatchObject({ intact: true, verifiedTo: 40 });
    // The same rows read as if the text were canonical: every link differs.
    expect(await breakOf(rows.map((row) => ({ ...row, canonical: true })))).toMatchObject({
      kind: 'modified',
      seq: 1,
    });
    const changed = rows.map((row) => ({ ...row }));
    changed[6]!.payload = changed[6]!.payload.replace('"n6"', '"n66"');
    expect(await breakOf(changed)).toMatchObject({ kind: 'modified', seq: 7 });
  });

  it('detects one flipped bit in any of 1,000 rows, each in its own copy', async () => {
    const rows = chainOf(1000);
    const fields = ['payload', 'hash', 'column', 'seq'] as const;
    for (let i = 0; i < rows.length; i += 1) {
      const copy = copyOf(rows);
      const row = copy[i]!;
      const field = fields[i % fields.length]!;
      const bit = 1 << (i % 7);
      if (field === 'payload') {
        const at = i % row.payload.length;
        const flipped = String.fromCharCode(row.payload.charCodeAt(at) ^ bit);
        row.payload = row.payload.slice(0, at) + flipped + row.payload.slice(at + 1);
      } else if (field === 'hash') {
        const hash = row.hash!;
        hash[i % 32] = hash[i % 32]! ^ bit;
      } else if (field === 'column') {
        row.columns!.action =
          String.fromCharCode(row.columns!.action.charCodeAt(0) ^ bit) +
          row.columns!.action.slice(1);
      } else {
        row.seq = row.seq! ^ bit;
      }
      const result = await verifyChain(new RowsSource(copy), { pageSize: 250 });
      expect({ i, field, intact: result.intact }).toEqual({ i, field, intact: false });
      expect({ i, field, seq: result.break?.seq }).toEqual({ i, field, seq: i + 1 });
    }
  });

  it("detects any single-byte change of any event's canonical bytes", async () => {
    const rows = chainOf(5);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 4 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (index, offset, delta) => {
          const copy = copyOf(rows);
          const row = copy[index]!;
          const bytes = Buffer.from(row.payload, 'utf8');
          const at = offset % bytes.length;
          bytes[at] = (bytes[at]! + delta) % 256;
          // Read back as a driver reads TEXT: as UTF-8.
          row.payload = bytes.toString('utf8');
          const result = await verifyChain(new RowsSource(copy));
          return !result.intact && result.break?.seq === index + 1;
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('verifyChain with checkpoints', () => {
  const rows = chainOf(30);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const keys = new Map([['k1', publicKey]]);
  const checkpointAt = (seq: number, at = '2026-03-01T10:00:00.000Z'): AuditCheckpoint => ({
    seq,
    hash: Buffer.from(rows[seq - 1]!.hash!).toString('hex'),
    at,
  });
  const signed = (seq: number) => signCheckpoint(checkpointAt(seq), privateKey, 'k1');

  it('finds the chain intact when it holds every checkpoint, signed or not', async () => {
    const result = await verifyChain(new RowsSource(copyOf(rows)), {
      checkpoints: [checkpointAt(10), checkpointAt(30)],
    });
    expect(result).toMatchObject({ intact: true, verifiedTo: 30, checkpoints: 2 });
    const withKeys = await verifyChain(new RowsSource(copyOf(rows)), {
      checkpoints: [signed(10), signed(30)],
      publicKeys: keys,
    });
    expect(withKeys).toMatchObject({ intact: true, checkpoints: 2 });
  });

  it('shows a cut tail that the chain alone cannot', async () => {
    const cut = copyOf(rows).slice(0, 20);
    expect(await verifyChain(new RowsSource(cut))).toMatchObject({ intact: true, verifiedTo: 20 });
    const result = await verifyChain(new RowsSource(cut), {
      checkpoints: [checkpointAt(10), checkpointAt(30)],
    });
    expect(result).toMatchObject({
      intact: false,
      verifiedTo: 20,
      break: { kind: 'cut-tail', seq: 21 },
    });
    expect(result.break?.message).toMatch(/#21 to #30 are missing/);
  });

  it('shows a chain rewritten consistently from some point on (a fork)', async () => {
    // The attacker changes #12 and recomputes every hash after it: the chain is intact again.
    const forked = copyOf(rows);
    let previous: Uint8Array | null = forked[10]!.hash;
    for (const row of forked.slice(11)) {
      if (row.seq === 12) row.payload = row.payload.replace('"u-4"', '"u-0"');
      previous = chainLink(previous, row.payload);
      row.hash = previous;
    }
    forked[11]!.columns = toEventColumns(JSON.parse(forked[11]!.payload) as never);
    expect(await verifyChain(new RowsSource(forked))).toMatchObject({ intact: true });
    const result = await verifyChain(new RowsSource(forked), {
      checkpoints: [checkpointAt(10), checkpointAt(20)],
    });
    expect(result).toMatchObject({ intact: false, break: { kind: 'fork', seq: 20 } });
  });

  it('refuses checkpoints it cannot trust: altered, signed by an unknown key, or unsigned where keys are given', async () => {
    const source = new RowsSource(copyOf(rows));
    const altered = { ...signed(20), seq: 25, hash: checkpointAt(25).hash };
    expect(
      (await verifyChain(source, { checkpoints: [altered], publicKeys: keys })).break,
    ).toMatchObject({
      kind: 'bad-signature',
      seq: 25,
    });
    const foreign = signCheckpoint(checkpointAt(20), other.privateKey, 'k2');
    expect(
      (await verifyChain(source, { checkpoints: [foreign], publicKeys: keys })).break,
    ).toMatchObject({
      kind: 'unknown-key',
      seq: 20,
    });
    expect(
      (await verifyChain(source, { checkpoints: [checkpointAt(20)], publicKeys: keys })).break,
    ).toMatchObject({
      kind: 'bad-signature',
      seq: 20,
    });
    // Keys in rotation: one checkpoint per key, both accepted.
    const rotated = new Map([...keys, ['k2', other.publicKey]]);
    expect(
      await verifyChain(source, { checkpoints: [signed(10), foreign], publicKeys: rotated }),
    ).toMatchObject({
      intact: true,
      checkpoints: 2,
    });
  });

  it('reads checkpoints from ECS stream lines and from checkpoint file lines, and nothing else', () => {
    const cp = signed(7);
    const text = [
      JSON.stringify({ event: { action: 'user.update' }, audit: { seq: 3 } }),
      JSON.stringify(formatCheckpoint(cp, { name: 'shop' })),
      'not json "seq"',
      JSON.stringify(checkpointAt(9)),
      '',
    ].join('\n');
    expect(parseCheckpointLines(text)).toEqual([cp, checkpointAt(9)]);
    const malformed = JSON.stringify({ seq: 'x', hash: '', at: '' });
    expect(() => parseCheckpointLines(malformed)).toThrow(/line 1/);
    expect(() => parseCheckpointLines(malformed)).toThrow(AuditCheckpointError);
    expect(() => parseCheckpointLines(malformed)).toThrow(
      expect.objectContaining({ code: 'AUDIT_CHECKPOINT_INVALID' }),
    );
  });
});
