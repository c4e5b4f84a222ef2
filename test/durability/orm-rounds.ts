import { request, Agent, type ClientRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { OrderLoad } from './load';
import { committedAndRecorded, streamedIds, type OrdersAndEvents } from './orm-trail';
import { randomBetween } from './records';
import { SampleServer, waitUntil, type ServerExit, type StartOptions } from './sample-server';

/**
 * Clients that keep creating orders until told to go away; then every request still waiting for
 * its answer is aborted at once, as a load balancer does when it drains a backend.
 */
export class AbortingClients {
  private readonly inFlight = new Set<ClientRequest>();
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  private readonly agent: Agent;
  sent = 0;
  /** Requests answered with a 2xx (an order committed). */
  created = 0;

  constructor(
    private readonly port: number,
    clients: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: clients });
    for (let i = 0; i < clients; i += 1) this.loops.push(this.loop());
  }

  /** Aborts what is in flight and stops sending; resolves once every loop ended. */
  async abortAll(): Promise<void> {
    this.stopped = true;
    for (const req of this.inFlight) req.destroy();
    await Promise.all(this.loops);
    this.agent.destroy();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await new Promise<void>((resolve) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: this.port,
            method: 'POST',
            path: '/orders',
            agent: this.agent,
            headers: { 'content-type': 'application/json', authorization: 'Demo sam' },
          },
          (res) => {
            if (res.statusCode !== undefined && res.statusCode < 300) this.created += 1;
            res.resume();
            res.on('end', resolve);
            res.on('error', () => resolve());
          },
        );
        this.inFlight.add(req);
        req.on('error', () => resolve());
        req.on('close', () => this.inFlight.delete(req));
        req.end(JSON.stringify({ item: 'widget', quantity: 1 }));
        this.sent += 1;
      });
    }
  }
}

/** What a SIGTERM round left: how the server ended, the committed orders, those with no event. */
export interface SigtermRound {
  exit: ServerExit;
  orders: string[];
  missing: string[];
}

/**
 * One SIGTERM round on a running server whose orders are in `schema` (PostgreSQL) and whose
 * trail is the SQLite file `auditFile`: `clients` clients create orders for a random while after
 * the first one committed (so each round stops at another point, and a server slow to warm up
 * still writes orders), all go away at once, SIGTERM follows 20 ms later.
 */
export async function sigtermRound(
  server: SampleServer,
  clients: number,
  schema: string,
  auditFile: string,
): Promise<SigtermRound> {
  const load = new AbortingClients(server.port, clients);
  try {
    await waitUntil('a first order', () => load.created > 0, 30_000, 10);
    await sleep(randomBetween(300, 800));
  } finally {
    await load.abortAll();
  }
  await sleep(20);
  const exit = await server.stop('SIGTERM');
  const { orders, recorded } = await committedAndRecorded(schema, auditFile);
  const missing = orders.filter((id) => !recorded.has(id));
  // The server's last output says why, when an order lacks its event.
  if (missing.length > 0) console.log(missing, server.output());
  return { exit, orders, missing };
}

/** The kill -9 rounds of one atomic-mode server, and how its database is read. */
export interface AtomicKillOptions {
  /** Names the rounds in labels and request ids, e.g. `Prisma`. */
  name: string;
  rounds: number;
  clients: number;
  /** Working directory, environment (AUDIT_STREAM included) and entry of every start. */
  server: Pick<StartOptions, 'cwd' | 'env' | 'main'>;
  read(): Promise<OrdersAndEvents>;
}

/** What the kills left: the ids the clients were answered 2xx for, and the unstreamed events. */
export interface AtomicKillRun {
  acknowledged: string[];
  leftByKills: number;
}

/**
 * Starts the server `rounds` times (Express, then Fastify, alternately) and SIGKILLs it mid-burst
 * each time: at a random moment after its first 2xx, so that every round writes orders.
 */
export async function atomicKillRounds(options: AtomicKillOptions): Promise<AtomicKillRun> {
  const run: AtomicKillRun = { acknowledged: [], leftByKills: 0 };
  for (let round = 1; round <= options.rounds; round += 1) {
    const platform = round % 2 === 1 ? 'express' : 'fastify';
    const server = await SampleServer.start({
      ...options.server,
      label: `orm atomic ${options.name} round ${round} (${platform})`,
      env: { ...options.server.env, PLATFORM: platform },
    });
    const load = new OrderLoad({
      port: server.port,
      clients: options.clients,
      prefix: `orm-k9-${options.name}-${process.pid}-r${round}`,
      maxRequestsPerClient: 20_000,
      maxDurationMs: 10_000,
    });
    await load.until2xx(1, 60_000);
    await sleep(randomBetween(0, 1000));
    const exit = await server.stop('SIGKILL', 5_000);
    await load.stop();
    expect({ round, signal: exit.signal }).toEqual({ round, signal: 'SIGKILL' });
    run.acknowledged.push(...load.acknowledged());
    run.leftByKills += (await options.read()).unstreamed;
  }
  return run;
}

/**
 * Restarts the server once, so that it writes from the stored events the ECS lines the kills cut
 * off; stops it with SIGTERM once the relay backlog is empty, and reads the database.
 */
export async function relayAfterKills(options: AtomicKillOptions): Promise<OrdersAndEvents> {
  const restarted = await SampleServer.start({
    ...options.server,
    label: `orm atomic ${options.name} relay`,
    env: { ...options.server.env, PLATFORM: 'express' },
  });
  await waitUntil(
    'an empty relay backlog',
    async () => (await options.read()).unstreamed === 0,
    30_000,
  );
  // Nest closes the app, then ends the process with the same signal.
  expect(await restarted.stop('SIGTERM')).toEqual({ code: null, signal: 'SIGTERM' });
  return options.read();
}

/**
 * Both or neither, after kill -9 rounds in atomic mode: every committed order has exactly one
 * change event and every change event its order; every 2xx the clients saw names a request
 * with an event; every change event has its ECS line in `stream`; the kills left lines to relay.
 */
export function expectOrdersMatchChanges(
  final: OrdersAndEvents,
  run: AtomicKillRun,
  stream: string,
): void {
  const { orders, changeEvents, requestIds, changeEventIds } = final;
  expect(orders.length).toBeGreaterThan(0);
  // The same ids, each once.
  expect(changeEvents).toEqual(orders);
  expect(run.acknowledged.filter((id) => !requestIds.has(id))).toEqual([]);
  const lines = streamedIds(stream);
  expect({
    changes: changeEventIds.length,
    withoutLine: changeEventIds.filter((id) => !lines.has(id)),
  }).toEqual({ changes: orders.length, withoutLine: [] });
  // Otherwise the relay was not tested.
  expect(run.leftByKills).toBeGreaterThan(0);
}
