import { Injectable } from '@nestjs/common';
import { AlarmNotifier, type AlarmMessage } from '../../src';

/** Waits until `check` holds, polling every 25 ms; fails naming `what` after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Collects what {@link InboxNotifier} receives; a provider, so the notifier can inject it. */
@Injectable()
export class Inbox {
  readonly messages: AlarmMessage[] = [];
}

/**
 * A custom alarm channel (a real feature: any class extending `AlarmNotifier`), resolved from
 * the Nest container with its dependency injected. List both `Inbox` and `InboxNotifier` in the
 * test app's providers.
 */
@Injectable()
export class InboxNotifier extends AlarmNotifier {
  constructor(private readonly inbox: Inbox) {
    super();
  }
  send(message: AlarmMessage): Promise<void> {
    this.inbox.messages.push(message);
    return Promise.resolve();
  }
}
