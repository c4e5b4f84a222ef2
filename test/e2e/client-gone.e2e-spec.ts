import {
  Controller,
  Injectable,
  Post,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import { AuditModule, AuditService, InMemoryAuditStore } from '../../src';
import { PLATFORMS, startApp, type Platform } from '../utils/apps';

/** Lets the request through once its client has gone away (the response closed unsent). */
@Injectable()
class AfterClientLeft implements CanActivate {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<{ headers: Record<string, string>; user?: unknown }>();
    req.user = { id: req.headers['x-user'] };
    const res = http.getResponse<{ raw?: NodeJS.EventEmitter } & NodeJS.EventEmitter>();
    const raw = res.raw ?? res;
    await new Promise((resolve) => raw.once('close', resolve));
    return true;
  }
}

/** Resolved when the handler starts; the test awaits it before shutting the app down. */
let handlerStarted: () => void = () => undefined;

@Controller('notes')
class NotesController {
  constructor(private readonly audit: AuditService) {}

  @Post()
  @UseGuards(AfterClientLeft)
  async create(): Promise<{ ok: true }> {
    handlerStarted();
    // Work that outlasts the start of shutdown (the app's own ORM commit, say).
    await new Promise((resolve) => setTimeout(resolve, 50));
    await this.audit.record({ action: 'note.archive', target: { type: 'note', id: 'n-1' } });
    return { ok: true };
  }
}

/** Sends a POST and destroys it once the server has received it. */
function postThenLeave(url: string): void {
  const req = httpRequest(`${url}/notes`, {
    method: 'POST',
    headers: { 'x-user': 'u-ada', 'content-type': 'application/json' },
  });
  req.on('error', () => undefined);
  req.end('{}', () => setTimeout(() => req.destroy(), 20));
}

describe.each(PLATFORMS)(
  'a client that goes away before the handler, on %s',
  (platform: Platform) => {
    it("records the attempt, runs the handler in the request's context, and shutdown waits for it", async () => {
      const store = new InMemoryAuditStore();
      const app = await startApp(platform, {
        imports: [AuditModule.forRoot({ store, stream: false })],
        controllers: [NotesController],
        providers: [AfterClientLeft],
      });
      const started = new Promise<void>((resolve) => (handlerStarted = resolve));
      postThenLeave(app.url);
      await started;
      // The handler is still working: close now, as SIGTERM would.
      await app.close();

      const events = store.all();
      const attempt = events.find((e) => e.action === 'note.create');
      const archived = events.find((e) => e.action === 'note.archive');
      expect(attempt?.outcome).toBe('unknown');
      expect(archived).toBeDefined();
      expect(archived?.actor.id).toBe('u-ada');
      expect(archived?.request?.id).toBe(attempt?.request?.id);
    });
  },
);
