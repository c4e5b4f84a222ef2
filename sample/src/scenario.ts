import type { INestApplication } from '@nestjs/common';
import { AuditService, type AuditEvent } from '../../src';
import { ReportsService } from './reports.service';

/** One scripted request and the status it must answer with. */
interface Step {
  say: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  as?: 'alice' | 'sam';
  body?: unknown;
  expect: number;
}

const wrongPassword = { username: 'alice', password: 'guess' };

const STEPS: Step[] = [
  {
    say: 'Load balancer checks health (exempt: not audited)',
    method: 'GET',
    path: '/health',
    expect: 200,
  },
  {
    say: 'Someone tries to log in as alice (wrong password)',
    method: 'POST',
    path: '/auth/login',
    body: wrongPassword,
    expect: 401,
  },
  {
    say: 'They try again (wrong password)',
    method: 'POST',
    path: '/auth/login',
    body: wrongPassword,
    expect: 401,
  },
  {
    say: 'And a third time (raises the failed-login alarm)',
    method: 'POST',
    path: '/auth/login',
    body: wrongPassword,
    expect: 401,
  },
  {
    say: 'Alice logs in',
    method: 'POST',
    path: '/auth/login',
    body: { username: 'alice', password: 'correct horse' },
    expect: 200,
  },
  {
    say: 'Alice creates user Bob (the password in the body is redacted)',
    method: 'POST',
    path: '/users',
    as: 'alice',
    body: { name: 'Bob', email: 'bob@example.com', mfaPhone: '+1 555 0100', password: 'hunter2' },
    expect: 201,
  },
  {
    say: 'Sam looks Bob up (a plain read: not audited)',
    method: 'GET',
    path: '/users/1',
    as: 'sam',
    expect: 200,
  },
  {
    say: "Sam views Bob's MFA phone (a sensitive read: audited)",
    method: 'GET',
    path: '/users/1/mfa',
    as: 'sam',
    expect: 200,
  },
  {
    say: "Alice changes Bob's MFA phone",
    method: 'PATCH',
    path: '/users/1/mfa',
    as: 'alice',
    body: { mfaPhone: '+1 555 0199' },
    expect: 200,
  },
  {
    say: 'An anonymous client sends a bad order (failure)',
    method: 'POST',
    path: '/orders',
    body: { item: '' },
    expect: 400,
  },
  {
    say: 'Sam places an order',
    method: 'POST',
    path: '/orders',
    as: 'sam',
    body: { item: 'Keyboard', quantity: 2 },
    expect: 201,
  },
  {
    say: 'Alice marks the order paid',
    method: 'PATCH',
    path: '/orders/1/status',
    as: 'alice',
    body: { status: 'paid' },
    expect: 200,
  },
  {
    say: 'Sam tries to delete Bob (refused by a guard: 403)',
    method: 'DELETE',
    path: '/users/1',
    as: 'sam',
    expect: 403,
  },
  {
    say: 'Alice deletes a user that does not exist (failure)',
    method: 'DELETE',
    path: '/users/99',
    as: 'alice',
    expect: 404,
  },
];

/** What the scenario did, for the printout and for the e2e test. */
export interface ScenarioResult {
  statuses: number[];
  recent: AuditEvent[];
  bobHistory: AuditEvent[];
  /** Events left in the store by earlier runs (up to 1000 counted). */
  storedBefore: number;
}

/** Drives the scripted requests against a running sample app, then reads the trail back. */
export async function runScenario(
  app: INestApplication,
  baseUrl: string,
  say: (line: string) => void = () => undefined,
): Promise<ScenarioResult> {
  const started = new Date();
  const statuses: number[] = [];
  for (const step of STEPS) {
    const res = await fetch(`${baseUrl}${step.path}`, {
      method: step.method,
      headers: {
        ...(step.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(step.as ? { authorization: `Bearer ${step.as}` } : {}),
      },
      body: step.body === undefined ? undefined : JSON.stringify(step.body),
    });
    await res.arrayBuffer();
    statuses.push(res.status);
    say(`> ${step.say}: ${step.method} ${step.path} -> ${res.status}`);
    if (res.status !== step.expect) {
      throw new Error(
        `Scenario step "${step.say}" answered ${res.status}, expected ${step.expect}.`,
      );
    }
  }
  say('> A nightly job exports users (a manual entry, outside HTTP)');
  await app.get(ReportsService).nightlyExport(1);

  const audit = app.get(AuditService);
  // The SQLite file keeps earlier runs too; show this run's events only.
  const { items: recent } = await audit.query({ from: started, limit: 20 });
  const bobHistory = (await audit.history('user', '1')).filter(
    (e) => Date.parse(e.timestamp) >= started.getTime(),
  );
  const { items: all } = await audit.query({ limit: 1000 });
  return { statuses, recent, bobHistory, storedBefore: all.length - recent.length };
}

function actorText(e: AuditEvent): string {
  const who = e.actor.email ?? e.actor.id ?? e.actor.name ?? 'anonymous';
  // A principal that was tried but not proven (a failed login) is marked as such.
  return e.actor.type !== 'user' || e.actor.authenticated ? who : `${who} (unauthenticated)`;
}

/** A readable table of events: time, actor, action, target, outcome, changed fields. */
export function formatEvents(events: AuditEvent[]): string {
  const rows = events.map((e) => [
    e.timestamp.slice(11, 23),
    actorText(e),
    e.action,
    e.target ? `${e.target.type}:${e.target.id ?? '-'}` : '-',
    e.outcome,
    e.response?.statusCode === undefined ? '' : String(e.response.statusCode),
    e.changes?.fields.join(', ') ?? '',
  ]);
  const header = ['time', 'actor', 'action', 'target', 'outcome', 'status', 'changed'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
