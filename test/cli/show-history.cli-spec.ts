import { parse } from 'csv-parse/sync';
import type { AuditEvent } from '../../src/event/audit-event';
import { ids, ndjson, runCli } from './cli-harness';
import { cliDataset, type CliDataset } from './cli-dataset';
import { ENGINES, seedDatabase, type SeededDatabase } from './engines';

describe.each(ENGINES)('nestjs-audit show and history (%s)', (engine) => {
  const data: CliDataset = cliDataset(Date.now());
  let db: SeededDatabase;

  beforeAll(async () => {
    db = await seedDatabase(engine, data.all);
  });

  afterAll(async () => {
    await db?.cleanup();
  });

  const cli = (...args: string[]) => runCli([...db.args, ...args]);

  describe('show', () => {
    it('lays out the facts and the diff: changed, added, removed, redacted', async () => {
      const run = await cli('show', data.phoneChanged.id);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const lines = run.stdout.split('\n');
      const fact = (label: string) =>
        lines
          .find((line) => line.startsWith(`${label} `))
          ?.slice(label.length)
          .trim();
      expect(fact('id')).toBe(data.phoneChanged.id);
      expect(fact('time')).toBe('2026-03-02T10:00:00.000Z');
      expect(fact('action')).toBe('user.update · category iam · type change, user');
      expect(fact('outcome')).toBe('success · level info');
      expect(fact('actor')).toBe('Grace (u-2) · user, authenticated · roles support');
      expect(run.stdout).toContain('impersonated by Root (u-9)');
      expect(fact('target')).toBe('user:42');
      expect(fact('tenant')).toBe('acme');
      expect(fact('request')).toBe(
        'PATCH /users/42 · route /users/:id · request id req-2 · trace trace-2',
      );
      expect(fact('response')).toBe('status 200');
      expect(fact('duration')).toBe('12 ms');
      expect(fact('labels')).toBe('channel=support-desk');
      expect(fact('changes')).toBe('3 fields');
      expect(lines).toContain('  ~ mfa.enabled: false → true');
      expect(lines).toContain('  - nickname: "Al"');
      expect(lines).toContain('  ~ phone: [REDACTED] → [REDACTED]');
      expect(run.stdout).not.toContain('\u001b[');
    });

    it('shows added fields, the error and the message', async () => {
      const created = await cli('show', data.created.id);
      expect(created.stdout).toContain('  + name: "Alice"');
      expect(created.stdout).toContain('  + phone: [REDACTED]');
      expect(created.stdout).toMatch(/^source +203\.0\.113\.7 · Mozilla\/5\.0$/m);
      const failed = await cli('show', data.orderFailed.id);
      expect(failed.stdout).toMatch(/^error +ConflictException: order 7 exists$/m);
      expect(failed.stdout).toMatch(/^message +Order creation, refused$/m);
      expect(failed.stdout).toMatch(/^outcome +failure · level warn$/m);
    });

    it('prints the stored event with --format json', async () => {
      const run = await cli('show', data.deleted.id, '--format', 'json');
      expect(run.code).toBe(0);
      // As stored, with its number in the chain the database keeps.
      expect(JSON.parse(run.stdout)).toEqual({ ...data.deleted, sequence: expect.any(Number) });
    });

    it('fails with one line and exit code 1 for an unknown id', async () => {
      const run = await cli('show', '01900000-0000-7000-8000-000000000000');
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(
        /^nestjs-audit: no event with id "01900000-0000-7000-8000-000000000000" in .+ — copy the id from the ID column of query, tail or history, .+\n$/,
      );
    });
  });

  describe('history', () => {
    const user42 = (d: CliDataset): AuditEvent[] => [
      d.created,
      d.phoneChanged,
      d.yesterday,
      d.recent,
    ];

    it('prints the timeline of one resource, oldest first, with the changes of each step', async () => {
      const run = await cli('history', 'user', '42');
      expect(run.code).toBe(0);
      const text = run.stdout;
      expect(text.split('\n')[0]).toBe('History of user:42: 4 events, oldest first');
      const positions = user42(data).map((event) => text.indexOf(event.id));
      expect(positions.every((p) => p > 0)).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      expect(text).toMatch(
        new RegExp(
          `^2026-03-01T10:00:00Z {2}user\\.create {2}success {2}by Ada \\(u-1\\) {2}${data.created.id}\\n {4}\\+ name: "Alice"\\n {4}\\+ phone: \\[REDACTED\\]$`,
          'm',
        ),
      );
      expect(text).toContain('    ~ city: "Paris" → "Lyon"');
      expect(text).not.toContain(data.orderFailed.id);
    });

    it('prints ndjson, json and csv', async () => {
      const expected = ids(user42(data));
      expect(
        ids(ndjson((await cli('history', 'user', '42', '--format', 'ndjson')).stdout)),
      ).toEqual(expected);
      expect(
        ids(
          JSON.parse(
            (await cli('history', 'user', '42', '--format', 'json')).stdout,
          ) as AuditEvent[],
        ),
      ).toEqual(expected);
      const csv = await cli('history', 'user', '42', '--format', 'csv');
      const rows = parse<{ id: string }>(csv.stdout, { columns: true });
      expect(rows.map((row) => row.id)).toEqual(expected);
    });

    it('says so on stderr for a resource without events', async () => {
      const run = await cli('history', 'user', '404');
      expect(run.code).toBe(0);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe('No events on user:404.\n');
    });
  });
});
