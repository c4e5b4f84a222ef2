import { messageOf } from '../common/message-of';
import type { AlarmMessage } from '../stores/alarm-message';
import type { AlarmClaim, AlarmOutboxEntry } from '../stores/alarm-outbox-model';

/**
 * Builds the one message of a digest group from its oldest members (at most the digest list
 * size, oldest first) and the number of entries it stands for.
 */
export type AlarmDigestFold = (members: readonly AlarmOutboxEntry[], total: number) => AlarmMessage;

/**
 * The message to send for a claim: the entry's own, or the digest folded from its group. When
 * the fold throws, `report` hears why and a plain summary of the head goes out instead.
 */
export function claimMessage(
  claim: AlarmClaim,
  fold: AlarmDigestFold,
  report: (message: string) => void,
): AlarmMessage {
  const head = claim.alarm;
  // The dedup key of the head is the message id on every retry, so receivers can drop repeats.
  const fixed = { id: head.dedupKey, channel: head.channel };
  if (head.digestKey === undefined || claim.count <= 1) return { ...head.message, ...fixed };
  try {
    return { ...fold(claim.members, claim.count), ...fixed };
  } catch (error) {
    report(
      `nestjs-audit: could not build the digest of rule "${head.rule}" (${claim.count} alarms): ${messageOf(error)}. Sending a plain summary instead.`,
    );
    // The Slack text of the head would drop the note below: Slack neutralizes `text` instead.
    const { slackText: _headOnly, ...plain } = head.message;
    return {
      ...plain,
      ...fixed,
      kind: 'digest',
      count: claim.count,
      text: `${head.message.text}\n\n… and ${claim.count - 1} more alarm(s) of rule "${head.rule}".`,
    };
  }
}
