/**
 * The process `socket-reads.ts` runs under valgrind: one gate app (`apps.ts`) on Fastify,
 * listening on 127.0.0.1 (a real socket, unlike the gate's `inject()`). It says `READY <port>`
 * on stdout and closes the app when `EXIT` comes on stdin; the requests come from the driver,
 * another process, so that only the server's work is counted.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { GATE_APPS, gateModule, type GateApp } from './apps';
import { driverWords, runTarget } from './driver-protocol';

async function main(): Promise<void> {
  const app = process.env.CG_APP as GateApp;
  const sqlitePath = process.env.CG_SQLITE_PATH;
  if (!GATE_APPS.includes(app) || !sqlitePath) {
    throw new Error('socket target: CG_APP and CG_SQLITE_PATH are set by socket-reads.ts.');
  }
  const nest = await NestFactory.create(gateModule(app, { sqlitePath }), new FastifyAdapter(), {
    logger: false,
  });
  await nest.listen(0, '127.0.0.1');
  const { port } = nest.getHttpServer().address() as { port: number };
  process.stdout.write(`READY ${port}\n`);
  await driverWords('socket target')('EXIT');
  await nest.close();
}

runTarget(main);
