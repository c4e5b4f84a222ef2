import {
  AUDIT_LOGGER_NAME,
  ECS_VERSION,
  serviceFields,
  type EcsDocument,
  type EcsServiceInfo,
} from './ecs.formatter';

/** `event.action` of the line written when the write path loses events. */
export const AUDIT_PIPELINE_FAILURE_ACTION = 'audit.pipeline_failure';

/**
 * Why the write path lost events:
 * - `store_failure`: neither committed nor spooled (`durability: 'ack'`; the request was answered
 *   503 or `record()` rejected);
 * - `queue_full`: discarded by `onQueueFull: 'drop'` (`durability: 'async'`);
 * - `shutdown`: queued events the store still refused when the application shut down.
 */
export type AuditPipelineFailureReason = 'store_failure' | 'queue_full' | 'shutdown';

/** One lost event as a failure line names it: identifiers only, never a payload. */
export interface AuditLostEvent {
  /** The event id. */
  id: string;
  /** The event action, e.g. `user.update`. */
  action: string;
  /** The request id the event belongs to, when it came from a request. */
  requestId?: string;
}

/** A write-path failure that lost events, as {@link formatPipelineFailure} writes it. */
export interface AuditPipelineFailure {
  /** When it happened, ISO-8601 UTC with milliseconds. */
  timestamp: string;
  /** Why the events were lost. */
  reason: AuditPipelineFailureReason;
  /** Human-readable sentence, as the application log states it. */
  message: string;
  /** Store engine, e.g. `postgres`. */
  store: string;
  /** The error behind the failure, when there is one. */
  error?: { type: string; message: string };
  /** The events that have no record. */
  events: readonly AuditLostEvent[];
}

/** The ECS document of an {@link AuditPipelineFailure}; same leading keys as {@link EcsDocument}. */
export interface EcsPipelineFailureDocument {
  /** When the failure happened. */
  '@timestamp': string;
  /** Always `error`. */
  'log.level': 'error';
  /** Human-readable sentence. */
  message: string;
  /** {@link ECS_VERSION}. */
  'ecs.version': string;
  /** Always {@link AUDIT_LOGGER_NAME}. */
  'log.logger': typeof AUDIT_LOGGER_NAME;
  /** `audit.pipeline_failure`, outcome `failure`, `reason` the failure reason. */
  event: {
    kind: 'event';
    action: typeof AUDIT_PIPELINE_FAILURE_ACTION;
    category: ['database'];
    type: ['error'];
    outcome: 'failure';
    dataset: string;
    reason: AuditPipelineFailureReason;
  };
  /** The producing service. */
  service: EcsServiceInfo;
  /** The error behind the failure. */
  error?: { type: string; message: string };
  /** What was lost. */
  audit: {
    pipeline_failure: {
      reason: AuditPipelineFailureReason;
      store: string;
      count: number;
      events: { id: string; action: string; request_id?: string }[];
    };
  };
}

/** Any line the audit stream writes. */
export type EcsLine = EcsDocument | EcsPipelineFailureDocument;

/**
 * Maps a write-path failure to the line that stands in the stream for the events it lost, so
 * that a reader of the stream knows which events have no record (their own lines are never
 * written). Pure; carries identifiers only, never an event's payload.
 */
export function formatPipelineFailure(
  failure: AuditPipelineFailure,
  service: EcsServiceInfo,
): EcsPipelineFailureDocument {
  // Built in output order, as in formatEcs: `audit` is set last, after the optional `error`.
  const doc = {
    '@timestamp': failure.timestamp,
    'log.level': 'error',
    message: failure.message,
    'ecs.version': ECS_VERSION,
    'log.logger': AUDIT_LOGGER_NAME,
    event: {
      kind: 'event',
      action: AUDIT_PIPELINE_FAILURE_ACTION,
      category: ['database'],
      type: ['error'],
      outcome: 'failure',
      dataset: `${service.name}.audit`,
      reason: failure.reason,
    },
    service: serviceFields(service),
  } as EcsPipelineFailureDocument;
  if (failure.error) doc.error = { type: failure.error.type, message: failure.error.message };
  doc.audit = {
    pipeline_failure: {
      reason: failure.reason,
      store: failure.store,
      count: failure.events.length,
      events: failure.events.map((e) =>
        e.requestId !== undefined
          ? { id: e.id, action: e.action, request_id: e.requestId }
          : { id: e.id, action: e.action },
      ),
    },
  };
  return doc;
}
