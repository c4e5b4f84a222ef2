import { setImmediate as nextTurn, setTimeout as pause } from 'node:timers/promises';

/**
 * Resolves once `check` holds, looking again after a short pause. There is no deadline: a
 * condition that never comes fails the test at Jest's test timeout, so how fast a loaded machine
 * gets there never decides the outcome. The pause comes from `node:timers/promises`, which Jest's
 * fake timers leave alone, so it also works in a test that fakes `setTimeout`.
 *
 * @param check - the condition; may be async (a store read)
 * @param pauseMs - pause between two looks
 * @example await until(() => receiver.requests.length === 1);
 */
export async function until(check: () => boolean | Promise<boolean>, pauseMs = 2): Promise<void> {
  while (!(await check())) await pause(pauseMs);
}

/**
 * One turn of the event loop: every promise callback queued so far has run when it resolves.
 * After a step that can only go on through promises (an in-memory store, an abort), this is the
 * point where anything it would do has been done.
 */
export function turn(): Promise<void> {
  return nextTurn();
}
