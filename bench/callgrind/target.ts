/**
 * The process the instruction gate runs under valgrind (started by `callgrind/gate.ts`, not by
 * hand): one gate app on Fastify, driven in-process through `inject()`. For each phase it warms
 * up, then measures CG_WINDOWS windows in a row: says `READY <phase>` on stdout, waits for `GO`
 * on stdin (the driver zeroes callgrind's counters meanwhile), sends the window's requests one
 * after the other, says `DONE <phase> <n>` and waits for `NEXT` (the driver dumps the counters
 * meanwhile). The process idles while the driver talks to valgrind, so a dump holds one
 * window's requests and nothing else of note.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { itemPath } from '../app/item-state';
import { GATE_APPS, GATE_PHASES, gateModule, type GateApp, type GatePhase } from './apps';
import { driverWords, runTarget } from './driver-protocol';

interface InjectResponse {
  statusCode: number;
  body: string;
}
type Inject = (request: {
  method: string;
  url: string;
  payload?: object;
}) => Promise<InjectResponse>;

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`callgrind target: ${name} is missing (run it through gate.ts).`);
  return value;
}

function count(name: string): number {
  const value = Number(env(name));
  if (!Number.isInteger(value) || value < 1) throw new Error(`callgrind target: bad ${name}.`);
  return value;
}

async function send(inject: Inject, phase: GatePhase, i: number): Promise<void> {
  const response =
    phase === 'get'
      ? await inject({ method: 'GET', url: itemPath(i) })
      : await inject({ method: 'PATCH', url: itemPath(i), payload: { note: `note ${i}` } });
  if (response.statusCode !== 200) {
    throw new Error(`${phase} ${itemPath(i)} answered ${response.statusCode}: ${response.body}`);
  }
}

async function run(inject: Inject, phase: GatePhase, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i += 1) await send(inject, phase, i);
}

async function main(): Promise<void> {
  const app = env('CG_APP') as GateApp;
  if (!GATE_APPS.includes(app)) throw new Error(`callgrind target: unknown CG_APP ${app}.`);
  const warmup = count('CG_WARMUP');
  const requests = count('CG_REQUESTS');
  const getRequests = count('CG_GET_REQUESTS');
  const windows = count('CG_WINDOWS');
  const module = gateModule(app, {
    sqlitePath: env('CG_SQLITE_PATH'),
  });
  const nest = await NestFactory.create(module, new FastifyAdapter(), { logger: false });
  await nest.init();
  const fastify = nest.getHttpAdapter().getInstance() as { ready(): Promise<unknown> } & {
    inject: Inject;
  };
  await fastify.ready();
  const inject: Inject = (request) => fastify.inject(request);
  const expect = driverWords('callgrind target');
  // The unaudited case is measured after an audited request has run, so that whatever the
  // audit path switches on for the whole process is on.
  if (app === 'audit') await send(inject, 'patch', 0);
  for (const phase of GATE_PHASES[app]) {
    await run(inject, phase, 1, warmup);
    // A full collection now, so that the measured window does not inherit the warm-up's garbage
    // (a major GC landing inside or outside it moved the count by a third).
    (globalThis as { gc?: () => void }).gc?.();
    // That collection also throws away optimized code holding objects it freed (V8's "weak
    // objects" deoptimization: 50-90 functions per app here, `--trace-deopt`), so a second
    // warm-up lets V8 optimize them again: otherwise the window counts the recompilation of
    // code the gate itself deoptimized (1.5M of 3.7M instructions of the audited update).
    await run(inject, phase, 1 + warmup, warmup);
    const measured = phase === 'get' ? getRequests : requests;
    for (let w = 0; w < windows; w += 1) {
      process.stdout.write(`READY ${phase}\n`);
      await expect('GO');
      await run(inject, phase, 1 + 2 * warmup + w * measured, measured);
      process.stdout.write(`DONE ${phase} ${measured}\n`);
      await expect('NEXT');
    }
  }
  await nest.close();
  process.stdout.write('END\n');
}

runTarget(main);
