import { Body, Controller, Injectable, Module, Param, ParseIntPipe, Patch } from '@nestjs/common';
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import Database from 'better-sqlite3';
import { inject } from 'light-my-request';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  Column,
  DataSource,
  DeleteDateColumn,
  Entity,
  EventSubscriber,
  ManyToOne,
  OneToMany,
  PrimaryGeneratedColumn,
  Repository,
  type EntitySubscriberInterface,
  type UpdateEvent,
} from 'typeorm';
import {
  Audited,
  AuditModule,
  InMemoryAuditStore,
  PostgresAuditStore,
  SqliteAuditStore,
  type AuditLoader,
} from '../../src';
import { AuditTypeOrmModule } from '../../src/typeorm';
import { APP_POOL_SIZE, type Platform } from '../config';
import { serveInProcess, type InProcessApp } from './in-process';
import { dropBenchSchema, uniqueSchemaName, withClient } from './postgres';
import { postgresCpuMicros } from './proc';
import { median, range } from './stats';

/**
 * The ORM path of an audited update, in-process against the real PostgreSQL: `PATCH
 * /orders/:id` loads an order through a TypeORM repository, changes its note and `save()`s it,
 * in three apps that differ only in auditing:
 *
 * - A: no audit module (the baseline);
 * - B: `AuditModule` (SQLite store) + `AuditTypeOrmModule` and `@Audited('order')`: the row
 *   change is read inside the save's transaction (`SELECT … FOR UPDATE` before the UPDATE);
 * - C: `AuditModule` only, `@Audited('order', { load: OrderLoader })`: the loader reads the
 *   order through the repository before and after the handler.
 *
 * Each round sends every app a fixed number of requests through light-my-request with a fixed
 * number in flight, over {@link ORDERS} orders in turn (so that two requests in flight never
 * want the same row lock), in blocks, the apps taking turns. Throughput is requests per wall
 * second; CPU per request is `process.cpuUsage()` (all threads of this process) and the main
 * thread's own time (`/proc/thread-self/schedstat`), both including light-my-request's work (the
 * same in every app).
 */

/** Requests per app and round. */
const REQUESTS = 1_500;
/**
 * Blocks per round: each app's requests of a round are sent in this many blocks, the apps taking
 * turns block by block (the order reversed every other block), so that a burst of other work on
 * the machine hits every app rather than the one cell that happened to be running.
 */
const BLOCKS = 5;
/** Requests per app before the first round (JIT warm-up, pool connections opened). */
const WARMUP = 600;
/** Requests in flight. */
const CONCURRENCY = 10;
/** Orders the requests go over in turn. */
const ORDERS = 200;
const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

/**
 * M (B with the in-memory store, to tell the store's cost from the ORM path's), P (B with
 * PostgresAuditStore in the app's own database) and L (A plus the locked row read alone, no
 * audit module: the floor of any in-transaction capture) are opt-in.
 */
export const ORM_APPS = ['A', 'B', 'C', 'M', 'P', 'L'] as const;
export type OrmApp = (typeof ORM_APPS)[number];
export const DEFAULT_ORM_APPS: readonly OrmApp[] = ['A', 'B', 'C'];

const APP_LABELS: Readonly<Record<OrmApp, string>> = {
  A: 'A: no audit (baseline)',
  B: 'B: AuditTypeOrmModule, in-transaction row read',
  C: 'C: AuditModule + loader (before/after reads)',
  M: 'M: B with InMemoryAuditStore',
  P: 'P: B with PostgresAuditStore (same database)',
  L: 'L: A + the locked row read alone (no audit module)',
};

@Entity({ name: 'customer' })
class Customer {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'varchar' }) name!: string;
}

/** The e2e fixture's order (test/e2e/orm/typeorm/orders.fixture.ts), without class-transformer. */
@Entity({ name: 'purchase_order' })
class Order {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'varchar' }) note!: string;
  @Column({ type: 'varchar', default: 'open' }) status!: string;
  @ManyToOne(() => Customer, { nullable: true, eager: true }) customer?: Customer | null;
  @OneToMany(() => OrderItem, (item) => item.order, { cascade: true }) items?: OrderItem[];
  @DeleteDateColumn({ nullable: true }) deletedAt?: Date | null;
}

@Entity({ name: 'order_item' })
class OrderItem {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'varchar' }) sku!: string;
  @Column({ type: 'int' }) quantity!: number;
  @ManyToOne(() => Order, (order) => order.items, { onDelete: 'CASCADE' }) order?: Order;
}

const ENTITIES = [Customer, Order, OrderItem];

/**
 * App L's subscriber: the one statement B's capture adds to the database's work (the order's row
 * read `FOR UPDATE` before each UPDATE, in the save's transaction), and nothing else. TypeORM
 * instantiates a class listed in `subscribers` only when it carries `@EventSubscriber()`: without
 * it L ran no subscriber at all and measured A again. Only L's data source lists it.
 */
@EventSubscriber()
class LockReadSubscriber implements EntitySubscriberInterface<Order> {
  listenTo(): typeof Order {
    return Order;
  }

  async beforeUpdate(event: UpdateEvent<Order>): Promise<void> {
    const id = (event.databaseEntity as Order | undefined)?.id;
    if (id === undefined) return;
    await event.queryRunner.query(
      `SELECT id, note, status, "customerId", "deletedAt" FROM ${event.metadata.tablePath
        .split('.')
        .map((part) => `"${part}"`)
        .join('.')} WHERE id = $1 FOR UPDATE`,
      [id],
    );
  }
}

/** What every app's handler does: load through the repository, change, save. */
async function updateNote(orders: Repository<Order>, id: number, note: string): Promise<void> {
  const order = await orders.findOneByOrFail({ id });
  order.note = note;
  await orders.save(order);
}

@Controller('orders')
class PlainOrdersController {
  constructor(@InjectRepository(Order) private readonly orders: Repository<Order>) {}

  @Patch(':id')
  async update(
    @Param('id', ParseIntPipe) id: number,
    @Body() body: { note: string },
  ): Promise<{ id: number }> {
    await updateNote(this.orders, id, body.note);
    return { id };
  }
}

@Controller('orders')
class OrmAuditedOrdersController {
  constructor(@InjectRepository(Order) private readonly orders: Repository<Order>) {}

  @Patch(':id')
  @Audited('order')
  async update(
    @Param('id', ParseIntPipe) id: number,
    @Body() body: { note: string },
  ): Promise<{ id: number }> {
    await updateNote(this.orders, id, body.note);
    return { id };
  }
}

@Injectable()
class OrderLoader implements AuditLoader {
  constructor(@InjectRepository(Order) private readonly orders: Repository<Order>) {}

  load(id: string): Promise<Order | null> {
    return this.orders.findOneBy({ id: Number(id) });
  }
}

@Controller('orders')
class LoaderAuditedOrdersController {
  constructor(@InjectRepository(Order) private readonly orders: Repository<Order>) {}

  @Patch(':id')
  @Audited('order', { load: OrderLoader })
  async update(
    @Param('id', ParseIntPipe) id: number,
    @Body() body: { note: string },
  ): Promise<{ id: number }> {
    await updateNote(this.orders, id, body.note);
    return { id };
  }
}

function ormModule(
  pgUrl: string,
  schema: string,
  lockReadOnly = false,
): ReturnType<typeof TypeOrmModule.forRoot> {
  return TypeOrmModule.forRoot({
    type: 'postgres',
    url: pgUrl,
    schema,
    entities: ENTITIES,
    synchronize: false,
    extra: { max: APP_POOL_SIZE },
    ...(lockReadOnly ? { subscribers: [LockReadSubscriber] } : {}),
  });
}

/** The module of one app; each app has its own DataSource (and pool) on the same tables. */
export function appModule(app: OrmApp, pgUrl: string, schema: string, storePath: string): object {
  const imports = [ormModule(pgUrl, schema, app === 'L'), TypeOrmModule.forFeature(ENTITIES)];
  const audit = (): ReturnType<typeof AuditModule.forRoot> =>
    AuditModule.forRoot({
      store:
        app === 'M'
          ? new InMemoryAuditStore()
          : app === 'P'
            ? new PostgresAuditStore({
                connectionString: pgUrl,
                schema,
                table: 'bench_audit_events',
              })
            : new SqliteAuditStore({ path: storePath }),
      stream: false,
    });
  if (app === 'A' || app === 'L') {
    @Module({ imports, controllers: [PlainOrdersController] })
    class PlainOrmModule {}
    return PlainOrmModule;
  }
  if (app === 'B' || app === 'M' || app === 'P') {
    @Module({
      imports: [...imports, audit(), AuditTypeOrmModule.forRoot()],
      controllers: [OrmAuditedOrdersController],
    })
    class OrmPathModule {}
    return OrmPathModule;
  }
  @Module({
    imports: [...imports, audit()],
    controllers: [LoaderAuditedOrdersController],
    providers: [OrderLoader],
  })
  class LoaderPathModule {}
  return LoaderPathModule;
}

interface Served extends InProcessApp {
  storePath: string;
}

async function serve(platform: Platform, module: object, storePath: string): Promise<Served> {
  return { ...(await serveInProcess(platform, module)), storePath };
}

/** One app in one round. */
export interface OrmCell {
  /** Requests per wall second. */
  rps: number;
  /** `process.cpuUsage()` (user + system, every thread of the process) per request, µs. */
  cpuMicros: number;
  /** The main thread's own CPU time per request, µs (NaN where /proc has no schedstat). */
  mainMicros: number;
  /** CPU of every postgres process on the host per request, µs (NaN without /proc). */
  pgMicros: number;
}

/** One platform, one round: each app's cell (all three unless `apps` chose fewer). */
export type OrmRound = Partial<Record<OrmApp, OrmCell>>;

/** The main thread's CPU time so far in ns (read on the main thread), or NaN. */
function mainThreadNanos(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}

/** A request sequence shared by every app: note values never repeat, ids go round. */
let sequence = 0;

/** What one block of requests took. */
interface Block {
  count: number;
  ms: number;
  cpuMicros: number;
  mainNanos: number;
  pgMicros: number;
}

/**
 * Sends `count` `PATCH /orders/:id` with `concurrency` in flight, over `ids` in turn, each with
 * a note of its own; rejects naming the first answer that was not 200.
 */
export async function sendPatches(
  dispatch: Served['dispatch'],
  ids: readonly number[],
  count: number,
  concurrency: number,
): Promise<void> {
  let sent = 0;
  let failure: string | undefined;
  const worker = async (): Promise<void> => {
    while (sent < count && failure === undefined) {
      sent += 1;
      const seq = sequence++;
      const res = await inject(dispatch, {
        method: 'PATCH',
        url: `/orders/${ids[seq % ids.length]}`,
        payload: { note: `note ${seq}` },
      });
      if (res.statusCode !== 200) failure ??= `${res.statusCode} ${res.body.slice(0, 300)}`;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failure !== undefined) throw new Error(`PATCH /orders/:id answered ${failure}`);
}

async function runBlock(served: Served, ids: readonly number[], count: number): Promise<Block> {
  const pg0 = postgresCpuMicros();
  const main0 = mainThreadNanos();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sendPatches(served.dispatch, ids, count, CONCURRENCY);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const main1 = mainThreadNanos();
  const pg1 = postgresCpuMicros();
  return {
    count,
    ms,
    cpuMicros: cpu.user + cpu.system,
    mainNanos: main1 - main0,
    pgMicros: pg0 === undefined || pg1 === undefined ? Number.NaN : pg1 - pg0,
  };
}

/** One round: every app's {@link REQUESTS}, block by block, the apps taking turns. */
async function runRound(
  apps: readonly OrmApp[],
  served: ReadonlyMap<OrmApp, Served>,
  ids: readonly number[],
  round: number,
): Promise<OrmRound> {
  const sums = new Map<OrmApp, Block>(
    apps.map((app) => [app, { count: 0, ms: 0, cpuMicros: 0, mainNanos: 0, pgMicros: 0 }]),
  );
  for (let block = 0; block < BLOCKS; block += 1) {
    // Alternate the order, so that what the earlier app leaves (garbage, dead row versions, a
    // warmer cache) does not always favour the same side.
    const order = (round * BLOCKS + block) % 2 === 0 ? apps : [...apps].reverse();
    for (const app of order) {
      const size = Math.floor(REQUESTS / BLOCKS) + (block < REQUESTS % BLOCKS ? 1 : 0);
      const done = await runBlock(served.get(app)!, ids, size);
      const sum = sums.get(app)!;
      sum.count += done.count;
      sum.ms += done.ms;
      sum.cpuMicros += done.cpuMicros;
      sum.mainNanos += done.mainNanos;
      sum.pgMicros += done.pgMicros;
    }
  }
  const cells: OrmRound = {};
  for (const [app, sum] of sums) {
    cells[app] = {
      rps: (sum.count * 1000) / sum.ms,
      cpuMicros: sum.cpuMicros / sum.count,
      mainMicros: sum.mainNanos / 1000 / sum.count,
      pgMicros: sum.pgMicros / sum.count,
    };
  }
  return cells;
}

/** Creates the tables in `schema` (which must exist) and {@link ORDERS} orders; their ids. */
export async function seed(pgUrl: string, schema: string): Promise<number[]> {
  const dataSource = new DataSource({
    type: 'postgres',
    url: pgUrl,
    schema,
    entities: ENTITIES,
    synchronize: true,
  });
  await dataSource.initialize();
  try {
    const customer = await dataSource.getRepository(Customer).save({ name: 'Ada' });
    const orders = await dataSource.getRepository(Order).save(
      Array.from({ length: ORDERS }, (_, i) => ({
        note: `seed ${i}`,
        customer,
        items: [{ sku: `SKU-${i}`, quantity: 1 }],
      })),
    );
    return orders.map((o) => o.id);
  } finally {
    await dataSource.destroy();
  }
}

/**
 * Checks that an audited app recorded every update with the row's change (the note, before
 * and after): a configuration that wrote nothing would look fast.
 */
function checkStore(app: OrmApp, platform: Platform, storePath: string, answered: number): void {
  const db = new Database(storePath, { readonly: true });
  try {
    const { n } = db.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number };
    if (n < answered) {
      throw new Error(`${platform} ${app}: ${n} audit events for ${answered} answered updates`);
    }
  } finally {
    db.close();
  }
}

export interface OrmUpdateOptions {
  /** PostgreSQL; default BENCH_PG_URL or postgres://postgres@127.0.0.1:5432/test. */
  pgUrl?: string;
  /**
   * An existing schema to create the tables in (the caller drops it). Without it, a schema of
   * its own is created and dropped at the end.
   */
  schema?: string;
  /** The apps to run (default A, B, C; one alone is for profiling it). */
  apps?: readonly OrmApp[];
}

/** Interleaved rounds per platform of the three apps (order reversed every other round). */
export async function measureOrmUpdate(
  platforms: readonly Platform[],
  rounds: number,
  options: OrmUpdateOptions = {},
): Promise<Map<Platform, OrmRound[]>> {
  const pgUrl = options.pgUrl ?? process.env.BENCH_PG_URL ?? DEFAULT_PG_URL;
  const own = options.schema === undefined;
  const schema = options.schema ?? `${uniqueSchemaName()}_orm`;
  const apps = ORM_APPS.filter((app) => (options.apps ?? DEFAULT_ORM_APPS).includes(app));
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-audit-bench-orm-'));
  const results = new Map<Platform, OrmRound[]>();
  try {
    if (own) await withClient(pgUrl, (c) => c.query(`CREATE SCHEMA "${schema}"`));
    const ids = await seed(pgUrl, schema);
    for (const platform of platforms) {
      const served = new Map<OrmApp, Served>();
      try {
        for (const app of apps) {
          const storePath = join(dir, `${platform}-${app}.db`);
          served.set(
            app,
            await serve(platform, appModule(app, pgUrl, schema, storePath), storePath),
          );
        }
        const answered = WARMUP + rounds * REQUESTS;
        for (const app of apps) await runBlock(served.get(app)!, ids, WARMUP);
        const list: OrmRound[] = [];
        for (let round = 0; round < rounds; round += 1) {
          list.push(await runRound(apps, served, ids, round));
        }
        results.set(platform, list);
        for (const app of apps) {
          if (app === 'A' || app === 'M' || app === 'P' || app === 'L') continue;
          const s = served.get(app)!;
          await s.app.close();
          served.delete(app);
          checkStore(app, platform, s.storePath, answered);
        }
      } finally {
        for (const s of served.values()) await s.app.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (own) {
      await dropBenchSchema(pgUrl, schema);
    }
  }
  return results;
}

function ratioCell(values: readonly number[]): string {
  const [low, high] = range(values);
  if (Number.isNaN(low)) return 'n/a';
  return `${median(values).toFixed(3)}× (${low.toFixed(2)}–${high.toFixed(2)})`;
}

function microsCell(values: readonly number[]): string {
  const [low, high] = range(values);
  if (Number.isNaN(low)) return 'n/a';
  return `${median(values).toFixed(0)} (${low.toFixed(0)}–${high.toFixed(0)})`;
}

/** Ratio B/A of requests per second must reach this (on PostgreSQL). */
export const ORM_TARGET = 0.9;

/** The report section: throughput ratios to A, and CPU per request of each app. */
export function ormUpdateSection(results: ReadonlyMap<Platform, readonly OrmRound[]>): string[] {
  const present = ORM_APPS.filter((app) =>
    [...results.values()].some((rounds) => rounds[0]?.[app] !== undefined),
  );
  const others = present.filter((app) => app !== 'A');
  const ratioRows = [...results].map(([platform, rounds]) => {
    const ratios = (app: OrmApp): number[] =>
      rounds.map((r) => (r[app]?.rps ?? Number.NaN) / (r.A?.rps ?? Number.NaN));
    const b = median(ratios('B'));
    const met = Number.isNaN(b) ? 'n/a' : b >= ORM_TARGET ? 'met' : '**missed**';
    const base = median(rounds.map((r) => r.A?.rps ?? Number.NaN));
    return `| ${platform} | ${base.toFixed(0)} | ${others.map((app) => ratioCell(ratios(app))).join(' | ')} | ${met} |`;
  });
  const cpuRows = [...results].flatMap(([platform, rounds]) =>
    present.map((app) => {
      const of = (pick: (cell: OrmCell) => number): number[] =>
        rounds.map((r) => (r[app] ? pick(r[app]) : Number.NaN));
      return `| ${platform} | ${APP_LABELS[app]} | ${median(of((c) => c.rps)).toFixed(0)} | ${microsCell(of((c) => c.cpuMicros))} | ${microsCell(of((c) => c.mainMicros))} | ${microsCell(of((c) => c.pgMicros))} |`;
    }),
  );
  const rounds = [...results.values()][0]?.length ?? 0;
  return [
    `In-process against PostgreSQL, ${REQUESTS} \`PATCH /orders/:id\` per app and round (${CONCURRENCY} in flight through light-my-request, after ${WARMUP} per app to warm up), each loading an order through the TypeORM repository, changing its note and saving it; the requests go over ${ORDERS} orders in turn, so no two in flight want the same row lock. A: no audit module; B: \`AuditModule\` (SQLite store, \`stream: false\`, default \`durability: 'ack'\`) + \`AuditTypeOrmModule\`, \`@Audited('order')\` (row read \`FOR UPDATE\` inside the save's transaction); C: \`AuditModule\` only, \`@Audited('order', { load: OrderLoader })\` reading the order through the repository before and after${present.includes('M') ? '; M: B with `InMemoryAuditStore`' : ''}${present.includes('P') ? '; P: B with `PostgresAuditStore` in the app database' : ''}${present.includes('L') ? '; L: A plus the locked row read alone (a TypeORM subscriber, no audit module)' : ''}. Each round sends every app's requests in ${BLOCKS} blocks, the apps taking turns block by block (the order reversed every other block); ${rounds} rounds, ratios are medians of per-round ratios (min–max). Target: B ≥ ${ORM_TARGET.toFixed(2)}× A.`,
    '',
    `| Platform | A requests/s | ${others.map((app) => `${app}/A requests/s`).join(' | ')} | B target |`,
    `| --- | --- | ${others.map(() => '---').join(' | ')} | --- |`,
    ...ratioRows,
    '',
    'CPU per request, median (min–max) over the rounds: the whole process (`process.cpuUsage()`, every thread, light-my-request included), its main thread alone (`/proc/thread-self/schedstat`), and every postgres process on the host (other sessions included).',
    '',
    '| Platform | App | requests/s | µs CPU/request (process) | main thread | PostgreSQL |',
    '| --- | --- | --- | --- | --- | --- |',
    ...cpuRows,
  ];
}

/**
 * The report with the ORM section placed after the unaudited-route one (before the row checks
 * when there are some, else at the end).
 */
export function withOrmUpdateSection(
  report: string,
  results: ReadonlyMap<Platform, readonly OrmRound[]>,
): string {
  const section = ['## The ORM path: an audited TypeORM update', '', ...ormUpdateSection(results)];
  const marker = '\n## Did every configuration really write?';
  const at = report.indexOf(marker);
  const block = `\n${section.join('\n')}\n`;
  if (at >= 0) return `${report.slice(0, at)}${block}${report.slice(at)}`;
  return `${report.replace(/\n+$/, '')}\n${block}`;
}
