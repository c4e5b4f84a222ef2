import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { AppModule } from '../../sample/src/app.module';
import { formatEvents, runScenario } from '../../sample/src/scenario';
import { LineCollector, PLATFORMS, startApp, tempDir } from '../utils/apps';

describe.each(PLATFORMS)('the sample app on %s', (platform) => {
  it('runs its scenario and records what the README promises', async () => {
    const tmp = tempDir();
    const db = join(tmp.dir, 'audit.db');
    const lines = new LineCollector();
    const running = await startApp(platform, { imports: [AppModule.register({ store: db, stream: lines })] });
    try {
      const result = await runScenario(running.app, running.url);
      expect(result.statuses).toEqual([200, 401, 401, 401, 200, 201, 200, 200, 200, 400, 201, 200, 403, 404]);
      expect(result.recent.map((e) => `${e.action}:${e.outcome}`)).toEqual([
        'report.export:success',
        'user.delete:failure',
        'user.delete:failure',
        'order.update:success',
        'order.create:success',
        'order.create:failure',
        'user.update:success',
        'user.read:success',
        'user.create:success',
        'session.login:success',
        'session.login:failure',
        'session.login:failure',
        'session.login:failure',
      ]);
      const [login, failedLogin] = result.recent.filter((e) => e.action === 'session.login');
      expect(login).toMatchObject({
        category: ['authentication'],
        type: ['start'],
        actor: { id: 'staff-1', authenticated: true },
      });
      expect(failedLogin).toMatchObject({
        category: ['authentication'],
        type: ['start'],
        outcome: 'failure',
        response: { statusCode: 401 },
        actor: { name: 'alice', authenticated: false },
      });
      const forbidden = result.bobHistory.find((e) => e.action === 'user.delete');
      expect(forbidden).toMatchObject({
        outcome: 'failure',
        response: { statusCode: 403 },
        actor: { email: 'sam@example.com' },
      });
      const mfaChange = result.bobHistory.find((e) => e.action === 'user.update');
      expect(mfaChange).toMatchObject({
        message: 'Edit made to MFA information',
        actor: { email: 'alice@example.com', roles: ['admin'] },
        changes: { fields: ['mfaPhone'], diff: [{ path: ['mfaPhone'], op: 'changed', before: '+1 555 0100', after: '+1 555 0199' }] },
      });
      expect(result.bobHistory.map((e) => e.action)).toEqual(['user.create', 'user.read', 'user.update', 'user.delete']);
      expect(lines.parsed().map((l) => (l.event as { action: string }).action)).toHaveLength(13);
      expect(formatEvents(result.recent)).toContain('alice@example.com');
      await running.close();
      const everything = readFileSync(db).toString('latin1') + lines.lines.join('\n');
      expect(everything).not.toContain('hunter2');
    } finally {
      await running.close();
      tmp.cleanup();
    }
  });
});
