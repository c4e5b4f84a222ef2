import { Test } from '@nestjs/testing';
import { AuditChangeRecorder, AuditModule, InMemoryAuditStore } from '../../src';
import { AuditPipeline } from '../../src/pipeline/audit-pipeline';
import { markerTimer } from '../utils/until';

const TIMEOUT_MS = 400;

async function boot() {
  const moduleRef = await Test.createTestingModule({
    imports: [
      AuditModule.forRoot({
        store: new InMemoryAuditStore(),
        stream: false,
        shutdownTimeoutMs: TIMEOUT_MS,
      }),
    ],
  }).compile();
  moduleRef.useLogger(false);
  const app = moduleRef.createNestApplication();
  await app.init();
  return { app, recorder: app.get(AuditChangeRecorder), pipeline: app.get(AuditPipeline) };
}

describe('AuditChangeRecorder.settled() outside a shutdown', () => {
  it('waits for the captures in flight, then leaves the shutdown its own full wait', async () => {
    const { app, recorder, pipeline } = await boot();
    // A pool closed by the app at run time: settled() waits for a capture that never ends,
    // up to shutdownTimeoutMs.
    void pipeline.track(new Promise<void>(() => undefined));
    const first = markerTimer(TIMEOUT_MS / 2);
    await recorder.settled();
    expect(first.fired).toBe(true);
    // Later, the app shuts down with another capture that never ends: shutdown still waits
    // its own shutdownTimeoutMs for it (a deadline left behind by the run-time wait, long
    // past, would have let it close at once, before the marker).
    void pipeline.track(new Promise<void>(() => undefined));
    const second = markerTimer(TIMEOUT_MS / 2);
    await app.close();
    expect(second.fired).toBe(true);
  });
});
