/**
 * Issue 12 acceptance: a corpus of random secrets, sent through every way a request reaches the
 * trail, shows in none of the sinks (store files, ECS stream, webhook and e-mail alarms, API,
 * exports, viewer, CLI) — raw, base64, base64url or URL-encoded — while the plain values sent
 * alongside show in each of them.
 */
import { Body, Controller, Injectable, Param, Post } from '@nestjs/common';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { Audited, AuditModule, AuditService, type AuditLoader } from '../../src';
import { PLATFORMS, startApp, tempDir } from '../utils/apps';
import { eventually } from '../utils/alarm-inbox';
import { HttpReceiver } from '../utils/http-receiver';
import { SmtpReceiver } from '../utils/smtp-receiver';
import {
  CanaryCorpus,
  cliOutput,
  fetchSinks,
  leaksIn,
  randomCore,
  shapedSecrets,
  sinksWithout,
  type SinkOutput,
} from '../utils/sink-collector';

const things = new Map<string, unknown>();

@Injectable()
class ThingLoader implements AuditLoader {
  load(id: string): unknown {
    return structuredClone(things.get(id));
  }
}

@Controller()
class CanaryController {
  @Post('things/:id')
  @Audited('thing', { action: 'update', load: ThingLoader, captureBody: true })
  update(@Param('id') id: string, @Body() body: { state: unknown }): unknown {
    things.set(id, body.state);
    return { ok: true };
  }

  @Post('notes')
  @Audited('note', { action: 'create', captureBody: true })
  note(): unknown {
    return { ok: true };
  }

  @Post('password-reset/:token')
  @Audited('reset', { action: 'update', captureBody: true })
  reset(@Param('token') token: string): unknown {
    return { ok: token.length > 0 };
  }

  @Post('jobs')
  @Audited('job', { action: 'run', captureBody: true })
  run(@Body() body: { detail: string }): unknown {
    throw new Error(`upstream refused ${body.detail}`);
  }
}

/** A JWT-shaped token around a canary. */
const jwtAround = (core: string) => `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.${core}`;

/** A loader state holding canaries under the keys a key list could miss. */
function secretState(corpus: CanaryCorpus, when: string, status: string): Record<string, unknown> {
  return {
    status,
    signingKey: corpus.plain(`${when} state signingKey`),
    vault: {
      mfaSeed: corpus.plain(`${when} state vault.mfaSeed`),
      keys: [{ privKey: corpus.plain(`${when} state vault.keys[0].privKey`), label: status }],
    },
    recoveryCodes: [corpus.plain(`${when} state recoveryCodes[0]`)],
    // A map keyed by a secret: the key is scanned by shape like a value.
    sessions: { [corpus.shaped(`${when} state sessions key`, jwtAround)]: { active: true } },
  };
}

/** The id of the audited thing: a control value every sink shows (lists show targets). */
const THING = randomCore('ctrl');

/** Sends the whole corpus; returns the control values sent alongside. */
async function plant(url: string, corpus: CanaryCorpus): Promise<string[]> {
  const [before, after, label, noted, failed] = Array.from({ length: 5 }, () => randomCore('ctrl'));
  things.set(THING, secretState(corpus, 'before', before!));
  await request(url)
    .post(`/things/${THING}`)
    .query({ otpCode: corpus.plain('query otpCode'), next: corpus.shaped('query jwt', jwtAround) })
    .set('x-api-key', corpus.plain('header x-api-key'))
    .set('cookie', `sid=${corpus.plain('header cookie')}`)
    .set(
      'authorization',
      corpus.shaped('header authorization', (c) => `Bearer ${c}`),
    )
    .send({
      label,
      sessions: { [corpus.shaped('body sessions key', jwtAround)]: { active: true } },
      state: secretState(corpus, 'after', after!),
      passphrase: corpus.plain('body passphrase'),
      profile: {
        pinCode: corpus.plain('body profile.pinCode'),
        otpCode: corpus.plain('body profile.otpCode'),
      },
      cards: [{ cvv2: corpus.plain('body cards[0].cvv2'), holder: label }],
      pw: corpus.shaped('body pw (base64)', (c) => Buffer.from(c).toString('base64')),
      devices: [[{ 'x-api-key': corpus.shaped('body x-api-key (url)', encodeURIComponent) }]],
      nested: { Authorization: corpus.shaped('body nested.Authorization', (c) => `Basic ${c}`) },
    })
    .expect(201);
  const note = `${noted} ${shapedSecrets(corpus, 'note').join(' and ')}`;
  await request(url)
    .post('/notes')
    .send({ note, items: [{ comment: shapedSecrets(corpus, 'comment').join('\n') }] })
    .expect(201);
  await request(url)
    .post(`/password-reset/${corpus.plain('path :token')}`)
    .send({ label })
    .expect(201);
  const detail = `${failed} ${corpus.shaped('error dsn', (c) => `postgres://svc:${c}@db/x`)}`;
  await request(url).post('/jobs').send({ detail }).expect(500);
  return [THING, before!, after!, label!, noted!, failed!];
}

/** The ids of the events the corpus recorded (the thing's first), once all four are stored. */
async function recordedIds(audit: AuditService): Promise<string[]> {
  const ofCorpus = async () => {
    const page = await audit.query({ limit: 100 });
    return page.items.filter((e) =>
      ['thing', 'note', 'reset', 'job'].includes(e.target?.type ?? ''),
    );
  };
  await eventually(async () => (await ofCorpus()).length === 4, 'the four events stored');
  const events = await ofCorpus();
  return events
    .sort((a, b) => Number(b.target?.type === 'thing') - Number(a.target?.type === 'thing'))
    .map((e) => e.id);
}

async function httpSinks(url: string, ids: readonly string[]): Promise<SinkOutput[]> {
  return fetchSinks(url, [
    { sink: 'api list', path: '/audit/events?limit=100' },
    ...ids.map((id) => ({ sink: `api event ${id}`, path: `/audit/events/${id}` })),
    { sink: 'api history', path: `/audit/history/thing/${THING}` },
    { sink: 'export csv', path: '/audit/export.csv' },
    { sink: 'export ndjson', path: '/audit/export.ndjson' },
    { sink: 'viewer list', path: '/audit/' },
    ...ids.map((id) => ({ sink: `viewer event ${id}`, path: `/audit/view/events/${id}` })),
    { sink: 'viewer history', path: `/audit/view/history/thing/${THING}` },
  ]);
}

async function cliSinks(db: string, ids: readonly string[]): Promise<SinkOutput[]> {
  const out: SinkOutput[] = [
    { sink: 'cli query json', text: await cliOutput(['--db', db, 'query', '--format', 'json']) },
  ];
  for (const id of ids)
    out.push({ sink: `cli show ${id}`, text: await cliOutput(['--db', db, 'show', id]) });
  return out;
}

describe('the canary detector', () => {
  it('finds a value raw, URL-encoded and base64 / base64url-encoded at any offset', () => {
    const canary = { kind: 'k', core: randomCore(), value: '' };
    canary.value = `pw=${canary.core}&x=1`;
    const hidden = ['', 'a', 'ab', 'abc'].flatMap((pad) => [
      Buffer.from(`${pad}${canary.value}!`).toString('base64'),
      Buffer.from(`${pad}${canary.core}?`).toString('base64url'),
    ]);
    const sinks = [...hidden, encodeURIComponent(canary.value), canary.core].map((text, i) => ({
      sink: `s${i}`,
      text: `<${text}>`,
    }));
    expect(leaksIn(sinks, [canary])).toHaveLength(sinks.length);
    expect(leaksIn([{ sink: 'clean', text: canary.core.slice(1) }], [canary])).toEqual([]);
  });
});

describe.each(PLATFORMS)('canary corpus over every sink on %s', (platform) => {
  it('shows no planted secret in any sink, in any encoding, and every control in each', async () => {
    const tmp = tempDir();
    const smtp = await SmtpReceiver.start();
    const hook = await HttpReceiver.start();
    const db = join(tmp.dir, 'audit.db');
    const stream = join(tmp.dir, 'audit.ndjson');
    const running = await startApp(platform, {
      imports: [
        AuditModule.forRoot({
          store: db,
          stream,
          api: { public: true },
          alarms: {
            channels: {
              mail: { type: 'email', transport: smtp.url, from: 'a@t.test', to: ['s@t.test'] },
              hook: { type: 'webhook', url: `${hook.url}/alarms`, secret: 'whsec-0123456789' },
            },
            rules: [
              {
                name: 'thing-changed',
                action: 'thing.*',
                changed: ['status', 'signingKey', 'vault.*', 'recoveryCodes'],
                channels: ['mail', 'hook'],
                title: 'Thing {target.id} changed',
                message: '{target.type} {target.id} changed: {changes}',
              },
            ],
            rateLimit: false,
            pollIntervalMs: 50,
            allowPrivateNetworks: ['127.0.0.1'],
          },
        }),
      ],
      controllers: [CanaryController],
      providers: [ThingLoader],
    });
    const corpus = new CanaryCorpus();
    try {
      const controls = await plant(running.url, corpus);
      expect(corpus.canaries.length).toBeGreaterThanOrEqual(30);
      const ids = await recordedIds(running.app.get(AuditService));
      const [mail] = await smtp.waitForMessages(1, 20_000);
      const [delivery] = await hook.waitForRequests(1, 20_000);
      const sinks: SinkOutput[] = [
        { sink: 'email', text: mail?.raw ?? '' },
        { sink: 'webhook', text: delivery?.body ?? '' },
        ...(await httpSinks(running.url, ids)),
        ...(await cliSinks(db, ids)),
      ];
      await running.close();
      for (const file of [db, `${db}-wal`, stream].filter((f) => existsSync(f))) {
        sinks.push({ sink: file.slice(tmp.dir.length + 1), text: readFileSync(file, 'latin1') });
      }
      expect(sinks.map((s) => s.sink)).toEqual(
        expect.arrayContaining(['audit.db', 'audit.ndjson', 'email', 'webhook']),
      );
      expect(leaksIn(sinks, corpus.canaries)).toEqual([]);
      // Every sink shows a control; each one that shows the thing's states shows its status.
      expect(sinksWithout(sinks, controls)).toEqual([]);
      const ofThing = sinks.filter((s) => !ids.slice(1).some((id) => s.sink.endsWith(id)));
      const stateSinks = ofThing.filter((s) => !['export csv', 'viewer list'].includes(s.sink));
      expect(sinksWithout(stateSinks, [controls[2]!])).toEqual([]);
      // The whole-trail sinks show every control: the states, the body, the note, the error.
      const wholeTrail = [
        'audit.db',
        'audit.ndjson',
        'api list',
        'export ndjson',
        'cli query json',
      ];
      for (const control of controls) {
        const trail = sinks.filter((s) => wholeTrail.includes(s.sink));
        expect({ control, missing: sinksWithout(trail, [control]) }).toEqual({
          control,
          missing: [],
        });
      }
      // The detector sees a value in every sink it is in: a control taken for a canary leaks.
      const asCanary = { kind: 'thing id', core: THING, value: THING };
      expect(leaksIn(ofThing, [asCanary])).toHaveLength(ofThing.length);
      // One alarm per channel: the rule matched once and nothing was rate limited away.
      expect([smtp.messages.length, hook.requests.length]).toEqual([1, 1]);
    } finally {
      await running.close();
      await Promise.all([smtp.close(), hook.close()]);
      tmp.cleanup();
    }
  });
});
