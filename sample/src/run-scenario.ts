import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { resolve } from 'node:path';
import { AppModule } from './app.module';
import { formatEvents, runScenario } from './scenario';

/**
 * `npm run sample`: starts the sample shop on 127.0.0.1, drives a short scripted scenario against
 * it, prints where the records are and what a query returns, then exits. ECS audit lines are
 * written to stdout as they happen (the JSON lines among the output).
 */
async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule.register(), { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`Sample shop listening on ${url}\n`);
  try {
    const result = await runScenario(app, url.replace('[::1]', '127.0.0.1'), say);
    say('');
    say(`Audit records are stored in ${resolve('audit.db')} (SQLite, the default store).`);
    if (result.storedBefore > 0) say(`It also holds ${result.storedBefore} event(s) from earlier runs.`);
    say('Each event was also printed above as one ECS JSON line (stdout is the default stream).');
    say('');
    say('AuditService.query({ from: <start of this run>, limit: 20 }), newest first:');
    say(formatEvents(result.recent));
    say('');
    say("AuditService.history('user', '1'), Bob's timeline, oldest first:");
    say(formatEvents(result.bobHistory));
  } finally {
    await app.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`Sample failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
