import { Body, Controller, Get, Module, Param, Post } from '@nestjs/common';
import { inject } from 'light-my-request';
import { AuditModule, InMemoryAuditStore } from '../../src';
import { serveInProcess, type InProcessApp } from './in-process';
import { median, range } from './stats';
import type { Platform } from '../config';

/**
 * What a route that is not audited pays for the module being installed, in-process: the same
 * app with and without `AuditModule`, GET requests to an unaudited route sent through
 * light-my-request (Fastify's `inject()` and the same for Express), after one audited request
 * has run (so any process-wide state the audit path turns on is on). CPU per request from
 * `process.cpuUsage()`, the two apps interleaved within each round (in alternating order).
 */

/** Requests per app and round. */
const REQUESTS = 3_000;
/** Requests per app before the first round (JIT warm-up). */
const WARMUP = 2_000;

@Controller('items')
class ItemsController {
  /** Audited by the default scope ('mutations'). */
  @Post()
  create(@Body() body: { name?: string }): { id: number; name: string } {
    return { id: 1, name: body.name ?? 'widget' };
  }

  /** Not audited: the route whose cost this measures. */
  @Get(':id')
  read(@Param('id') id: string): { id: string; name: string } {
    return { id, name: 'widget' };
  }
}

@Module({ controllers: [ItemsController] })
class PlainModule {}

@Module({
  imports: [AuditModule.forRoot({ store: new InMemoryAuditStore(), stream: false })],
  controllers: [ItemsController],
})
class AuditedModule {}

/** One platform, one round: CPU microseconds per unaudited request of each app. */
export interface UnauditedRound {
  baselineMicros: number;
  withModuleMicros: number;
}

async function cpuPerRequest(served: InProcessApp, count: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < count; i += 1) {
    await inject(served.dispatch, { method: 'GET', url: `/items/${i}` });
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
}

/** Interleaved rounds per platform: the app without the module, then with it. */
export async function measureUnauditedRoute(
  platforms: readonly Platform[],
  rounds: number,
): Promise<Map<Platform, UnauditedRound[]>> {
  const results = new Map<Platform, UnauditedRound[]>();
  for (const platform of platforms) {
    const plain = await serveInProcess(platform, PlainModule);
    const audited = await serveInProcess(platform, AuditedModule);
    try {
      const created = await inject(audited.dispatch, {
        method: 'POST',
        url: '/items',
        payload: { name: 'first' },
      });
      if (created.statusCode !== 201) {
        throw new Error(`the audited warm-up request answered ${created.statusCode}, not 201`);
      }
      await cpuPerRequest(plain, WARMUP);
      await cpuPerRequest(audited, WARMUP);
      const list: UnauditedRound[] = [];
      for (let round = 0; round < rounds; round += 1) {
        // Alternate which app goes first, so that what the earlier one leaves (garbage, a
        // warmer cache) does not always favour the same side.
        let baselineMicros: number;
        let withModuleMicros: number;
        if (round % 2 === 0) {
          baselineMicros = await cpuPerRequest(plain, REQUESTS);
          withModuleMicros = await cpuPerRequest(audited, REQUESTS);
        } else {
          withModuleMicros = await cpuPerRequest(audited, REQUESTS);
          baselineMicros = await cpuPerRequest(plain, REQUESTS);
        }
        list.push({ baselineMicros, withModuleMicros });
      }
      results.set(platform, list);
    } finally {
      await plain.app.close();
      await audited.app.close();
    }
  }
  return results;
}

/** The report section: CPU per unaudited request with and without the module, and the ratio. */
export function unauditedRouteSection(
  results: ReadonlyMap<Platform, readonly UnauditedRound[]>,
): string[] {
  const rows = [...results].map(([platform, rounds]) => {
    const ratios = rounds.map((r) => r.withModuleMicros / r.baselineMicros);
    const added = rounds.map((r) => r.withModuleMicros - r.baselineMicros);
    const [low, high] = range(ratios);
    const base = median(rounds.map((r) => r.baselineMicros));
    const withModule = median(rounds.map((r) => r.withModuleMicros));
    return `| ${platform} | ${base.toFixed(1)} | ${withModule.toFixed(1)} | ${median(added).toFixed(1)} | ${median(ratios).toFixed(3)}× (${low.toFixed(2)}–${high.toFixed(2)}) |`;
  });
  return [
    `In-process, ${REQUESTS} GET requests per app and round to a route the module does not audit, after one audited request; CPU per request includes light-my-request's own work (the same for both apps), so the ratio understates the share of the app's own cost. Median over the rounds.`,
    '',
    '| Platform | µs CPU/request without the module | with it | added µs | ratio (min–max) |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ];
}
