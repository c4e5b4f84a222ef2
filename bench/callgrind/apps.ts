import {
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Module,
  NotFoundException,
  Param,
  Patch,
  RequestMethod,
  type DynamicModule,
} from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { Audited, AuditModule } from '../../src';
import { ItemLoader, ItemsRepository, type ItemState } from '../app/item-state';

/**
 * The apps whose instructions per request the CI gate counts, all on Fastify, in-process.
 * Each runs in its own process under valgrind, so that what one installs (hooks,
 * AsyncLocalStorage) never touches another's count.
 */
export const GATE_APPS = ['plain', 'audit', 'pino'] as const;
/** An app of the gate. */
export type GateApp = (typeof GATE_APPS)[number];

/** One measured phase of a gate app: unaudited reads, or audited updates. */
export type GatePhase = 'get' | 'patch';

/** Phases of each app, in the order they run. */
export const GATE_PHASES: Readonly<Record<GateApp, readonly GatePhase[]>> = {
  plain: ['get', 'patch'],
  audit: ['get', 'patch'],
  pino: ['patch'],
};

/** Where audit and log lines go: formatted and written, never kept. */
const LINE_SINK = '/dev/null';

/** The controller of every gate app: one unaudited read, one audited update. */
@Controller('items')
export class GateItemsController {
  constructor(@Inject(ItemsRepository) private readonly items: ItemsRepository) {}

  /** Not audited by the default scope ('mutations'). */
  @Get(':id')
  read(@Param('id') id: string): { id: string; name: string } {
    return { id, name: 'widget' };
  }

  /** Audited with a loader: the event carries the item's ~1.3 KB before/after state. */
  @Patch(':id')
  @HttpCode(200)
  @Audited('item', { load: ItemLoader })
  update(@Param('id') id: string, @Body() body: { note?: unknown }): ItemState {
    const note = typeof body.note === 'string' ? body.note : 'changed';
    const item = this.items.update(id, note);
    if (!item) throw new NotFoundException(`item ${id} does not exist`);
    return item;
  }
}

/** Paths the gate app needs: its SQLite file (audit app only). */
export interface GateAppPaths {
  sqlitePath: string;
}

/** The root module of one gate app. */
export function gateModule(app: GateApp, paths: GateAppPaths): DynamicModule {
  const imports: DynamicModule[] = [];
  if (app === 'audit') {
    imports.push(
      AuditModule.forRoot({
        serviceName: 'bench',
        durability: 'ack',
        store: paths.sqlitePath,
        stream: LINE_SINK,
        // Checkpoints every 1,000 events as by default, but no wall-clock heartbeat: under
        // callgrind a run lasts minutes, and a timer would land in the measured window in some
        // runs and not others.
        checkpoints: { intervalMs: 2 ** 31 - 1 },
      }),
    );
  } else if (app === 'pino') {
    imports.push(
      LoggerModule.forRoot({
        pinoHttp: [{ level: 'info' }, pino.destination({ dest: LINE_SINK, sync: false })],
        // nestjs-pino 5.2's default route never matches on Fastify under Nest 12.
        forRoutes: [{ path: '*path', method: RequestMethod.ALL }],
      }),
    );
  }
  return {
    module: GateRootModule,
    imports,
    controllers: [GateItemsController],
    providers: [ItemsRepository, ItemLoader],
  };
}

@Module({})
class GateRootModule {}
