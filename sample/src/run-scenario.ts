import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { resolve } from 'node:path';
import { sampleAlarms } from './alarms';
import { AppModule } from './app.module';
import { MailCatcher } from './mail-catcher';
import { formatEvents, runScenario } from './scenario';

/**
 * `npm run sample`: starts the sample shop on 127.0.0.1, drives a short scripted scenario against
 * it, prints where the records are and what a query returns, then exits. ECS audit lines are
 * written to stdout as they happen (the JSON lines among the output). A local mail catcher
 * receives the alarm e-mails (the MFA phone change, the repeated failed logins) and the sample
 * prints them.
 */
async function main(): Promise<void> {
  const mail = new MailCatcher();
  const smtpUrl = await mail.start();
  const app = await NestFactory.create(
    AppModule.register({ alarms: sampleAlarms({ smtpUrl }, { pollIntervalMs: 200 }) }),
    { logger: ['error', 'warn'] },
  );
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`Sample shop listening on ${url}\n`);
  try {
    const result = await runScenario(app, url.replace('[::1]', '127.0.0.1'), say);
    say('');
    say(`Audit records are stored in ${resolve('audit.db')} (SQLite, the default store).`);
    if (result.storedBefore > 0)
      say(`It also holds ${result.storedBefore} event(s) from earlier runs.`);
    say('Each event was also printed above as one ECS JSON line (stdout is the default stream).');
    say('');
    say('AuditService.query({ from: <start of this run>, limit: 20 }), newest first:');
    say(formatEvents(result.recent));
    say('');
    say("AuditService.history('user', '1'), Bob's timeline, oldest first:");
    say(formatEvents(result.bobHistory));
    say('');
    const alarms = await mail.waitFor(2, 15_000);
    if (alarms.length < 2) {
      throw new Error(
        `Expected 2 alarm e-mails at the mail catcher ${smtpUrl} within 15 s, got ${alarms.length}.`,
      );
    }
    for (const alarm of alarms) {
      say(`Alarm e-mail received by the local mail catcher (${smtpUrl}):`);
      say(`  From:    ${alarm.from}`);
      say(`  To:      ${alarm.to.join(', ')}`);
      say(`  Subject: ${alarm.subject}`);
      for (const line of alarm.text.trimEnd().split('\n')) say(`  | ${line}`);
      say('');
    }
  } finally {
    await app.close();
    await mail.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`Sample failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
