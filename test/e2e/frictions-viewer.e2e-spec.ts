import {
  ForbiddenException,
  Injectable,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import request from 'supertest';
import { AuditModule, AuditService, InMemoryAuditStore } from '../../src';
import { PLATFORMS, startApp, type RunningApp } from '../utils/apps';

/** Lets in requests that carry `x-auditor: yes`. */
@Injectable()
class AuditorGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string> }>();
    if (req.headers['x-auditor'] === 'yes') return true;
    throw new ForbiddenException('Only auditors may read the audit trail');
  }
}

const AUDITOR = { 'x-auditor': 'yes' };

/** The actions of the list page's rows, top to bottom (the code line under each action). */
function actionsOn(page: string): string[] {
  return [...page.matchAll(/<span class="sub-line clip code"[^>]*>([^<]+)<\/span>/g)].map(
    (match) => match[1] ?? '',
  );
}

function hiddenCountOn(page: string): number | undefined {
  const found = /data-hidden-reads="(\d+)"/.exec(page);
  return found ? Number(found[1]) : undefined;
}

describe.each(PLATFORMS)("the viewer's list hides the trail's own reads on %s", (platform) => {
  let app: RunningApp;
  let store: InMemoryAuditStore;

  beforeAll(async () => {
    store = new InMemoryAuditStore();
    app = await startApp(platform, {
      imports: [
        AuditModule.forRoot({ store, stream: false, api: { path: 'audit', guard: AuditorGuard } }),
      ],
      providers: [AuditorGuard],
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  beforeEach(async () => {
    store.clear();
    const audit = app.app.get(AuditService);
    await audit.record({ action: 'order.update', target: { type: 'order', id: '1' } });
    await audit.record({ action: 'order.update', target: { type: 'order', id: '2' } });
    // Reads of the trail through the viewer and through the HTTP API, newer than the changes.
    for (let i = 0; i < 4; i += 1) await request(app.url).get('/audit').set(AUDITOR).expect(200);
    await request(app.url).get('/audit/events').set(AUDITOR).expect(200);
  });

  it('shows the changes first and says how many reads it hid', async () => {
    const response = await request(app.url).get('/audit').set(AUDITOR).expect(200);
    expect(actionsOn(response.text)).toEqual(['order.update', 'order.update']);
    expect(hiddenCountOn(response.text)).toBe(5);
    expect(response.text).toContain('5 reads of the audit trail hidden');
    expect(response.text).toMatch(/href="\.\/audit\?reads=1">Show them<\/a>/);
    // The box is there and not ticked.
    expect(response.text).toMatch(/name="reads" type="checkbox" value="1" \/>/);
  });

  it('shows them with the toggle, newest first, with the box ticked', async () => {
    const response = await request(app.url).get('/audit?reads=1').set(AUDITOR).expect(200);
    expect(actionsOn(response.text)).toEqual([
      ...Array.from({ length: 5 }, () => 'audit.read'),
      'order.update',
      'order.update',
    ]);
    expect(hiddenCountOn(response.text)).toBeUndefined();
    expect(response.text).toMatch(/name="reads" type="checkbox" value="1" checked \/>/);
  });

  it('shows them when the filter asks for that action', async () => {
    const response = await request(app.url)
      .get('/audit?action=audit.read')
      .set(AUDITOR)
      .expect(200);
    expect(actionsOn(response.text)).toHaveLength(5);
  });

  it('keeps a refused read visible', async () => {
    await request(app.url).get('/audit').expect(403);
    const response = await request(app.url).get('/audit').set(AUDITOR).expect(200);
    expect(actionsOn(response.text)).toEqual(['audit.read', 'order.update', 'order.update']);
    const refused = store.all().find((e) => e.response?.statusCode === 403);
    expect(refused).toMatchObject({ action: 'audit.read', outcome: 'failure' });
  });

  it('pages past the hidden reads without skipping or repeating an event', async () => {
    const first = await request(app.url).get('/audit?limit=1').set(AUDITOR).expect(200);
    expect(actionsOn(first.text)).toEqual(['order.update']);
    const older = /href="([^"]+)" rel="next"/.exec(first.text)?.[1]?.replace(/&amp;/g, '&');
    expect(older).toMatch(/^\.\/audit\?limit=1&cursor=/);
    const second = await request(app.url)
      .get(`/audit${older!.slice('./audit'.length)}`)
      .set(AUDITOR)
      .expect(200);
    expect(actionsOn(second.text)).toEqual(['order.update']);
    const ids = [first.text, second.text].map(
      (page) => /view\/history\/order\/(\d+)/.exec(page)?.[1],
    );
    expect(ids).toEqual(['2', '1']);
    expect(second.text).not.toContain('rel="next"');
  });

  it('records the read with the number of reads it hid', async () => {
    await request(app.url).get('/audit').set(AUDITOR).expect(200);
    const reads = store
      .all()
      .filter((e) => e.action === 'audit.read' && e.labels?.via === 'viewer');
    expect(reads[reads.length - 1]?.results).toMatchObject({ count: 2, hiddenReads: 5 });
  });
});
