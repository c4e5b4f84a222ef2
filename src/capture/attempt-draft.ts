import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ResolvedAuditOptions } from '../audit.options';
import type { AuditActorInput, AuditOutcome } from '../event/audit-event';
import type { AuditEventDraft } from '../event/build-event';
import { ROW_CHANGE_VERBS, type AuditRowChange } from '../event/row-change';
import { requestFacts } from './request-facts';
import type { RequestRecord } from './request-record';
import type { ResponseStart } from './response-hold';
import type { RoutePlan } from './route-plan';
import { targetIdOf } from './target-id';

const RESPONDED_EARLY =
  'the response began before the handler returned, so the after-state was not loaded';

/** What a refusal's response body says, when it is the usual `{ message, error }` JSON. */
interface RefusalBody {
  message?: unknown;
  error?: unknown;
}

function outcomeOf(record: RecordLike, start: ResponseStart | undefined): AuditOutcome {
  if (record.aborted || !start) return 'unknown';
  return start.statusCode >= 400 ? 'failure' : 'success';
}

function messageText(message: unknown): string | undefined {
  if (typeof message === 'string') return message;
  // ValidationPipe answers one message per invalid field.
  if (Array.isArray(message)) {
    const parts = message.filter((m): m is string => typeof m === 'string');
    return parts.length > 0 ? parts.join('; ') : undefined;
  }
  return undefined;
}

/**
 * The error of a thrown value: its name, and for an HttpException the message its response
 * carries (ValidationPipe's field messages rather than "Bad Request Exception").
 */
export function errorOf(error: unknown): unknown {
  const candidate = error as { getResponse?: unknown; name?: unknown } | null;
  if (candidate && typeof candidate.getResponse === 'function') {
    try {
      const response: unknown = (candidate.getResponse as () => unknown).call(error);
      const text =
        typeof response === 'string'
          ? response
          : messageText((response as RefusalBody | null)?.message);
      if (text !== undefined) {
        return {
          name: typeof candidate.name === 'string' ? candidate.name : 'Error',
          message: text,
        };
      }
    } catch {
      // A getResponse() that throws tells nothing more than the error itself.
    }
  }
  return error;
}

/** The error of a response that no handler code threw: read from what was actually sent. */
function errorFromResponse(start: ResponseStart): { name: string; message: string } {
  const status = start.statusCode;
  const fallback = { name: `HTTP ${status}`, message: STATUS_CODES[status] ?? 'Error' };
  if (!start.body || !start.contentType?.includes('json')) return fallback;
  try {
    const body = JSON.parse(start.body) as RefusalBody | null;
    const message = messageText(body?.message);
    const name = typeof body?.error === 'string' ? body.error : fallback.name;
    return { name, message: message ?? fallback.message };
  } catch {
    return fallback;
  }
}

/** The actor: the authenticated user, else the principal the request tried to act as. */
function actorOf(
  record: RecordLike,
  plan: RoutePlan,
  factsActor: AuditActorInput,
): AuditActorInput {
  let actor = factsActor;
  if (record.ctx.actor) {
    // An actor set in the handler (a login) is judged on its own: the request's anonymous
    // type and authentication do not carry over to it.
    const { type: _type, authenticated: _authenticated, ...known } = factsActor;
    actor = { ...known, ...record.ctx.actor };
  }
  if (actor.id !== undefined || actor.name !== undefined || actor.email !== undefined) {
    return actor;
  }
  const principal = plan.meta?.principal?.(record.req);
  if (typeof principal !== 'string' || principal.length === 0) return actor;
  return { ...actor, type: 'user', name: principal.slice(0, 256), authenticated: false };
}

const GENERIC_VERBS: ReadonlySet<string> = new Set(['create', 'update', 'delete']);

/**
 * The route's action; for a soft deletion or restoration the ORM saw, with that verb instead of
 * the HTTP method's generic one (a `DELETE` that only marked the row is `order.soft_delete`).
 */
function actionOf(plan: RoutePlan, row: AuditRowChange | undefined): string {
  if (!row || plan.meta?.action !== undefined || !GENERIC_VERBS.has(plan.verb)) return plan.action;
  if (row.kind !== 'soft-delete' && row.kind !== 'restore') return plan.action;
  return `${plan.resourceType}.${ROW_CHANGE_VERBS[row.kind]}`;
}

/**
 * The draft of the event of one request attempt, from its record and the response actually
 * sent (`start` is absent when the client went away before any byte).
 */
export function attemptDraft(
  record: RecordLike,
  plan: RoutePlan,
  start: ResponseStart | undefined,
  options: ResolvedAuditOptions,
): AuditEventDraft {
  const { ctx, req } = record;
  const outcome = outcomeOf(record, start);
  const failed = record.failure !== undefined;
  const result = failed ? undefined : record.result;
  const targetId = ctx.targetId ?? targetIdOf(plan, req, result);
  const facts = requestFacts(req, options, ctx.requestId);
  const meta = plan.meta;
  const draft: AuditEventDraft = {
    action: ctx.action ?? actionOf(plan, record.rowChange),
    outcome,
    level: meta?.level ?? (outcome === 'failure' ? 'warn' : 'info'),
    actor: actorOf(record, plan, facts.actor),
    source: facts.source,
    request: facts.request,
    target: {
      type: ctx.targetType ?? plan.resourceType,
      ...(targetId === undefined ? {} : { id: targetId }),
    },
    durationMs: Math.round((performance.now() - record.started) * 1000) / 1000,
    labels: ctx.labels,
  };
  if (meta?.category) draft.category = [meta.category];
  if (start && !record.aborted) draft.response = { statusCode: start.statusCode };
  if (facts.tenant !== undefined) draft.tenant = facts.tenant;
  const row = record.rowChange;
  if (row) {
    // The ORM's change is what the write itself replaced and left: it beats loaded states.
    if (row.before !== undefined) draft.before = row.before;
    if (row.after !== undefined) draft.after = row.after;
    if (targetId === undefined && row.id !== undefined && draft.target) draft.target.id = row.id;
  } else {
    if (ctx.hasBefore) draft.before = ctx.before;
    if (ctx.hasAfter) draft.after = ctx.after;
    const unavailable =
      record.changesUnavailable ??
      (record.respondedEarly && ctx.hasBefore ? RESPONDED_EARLY : undefined);
    if (unavailable !== undefined && !ctx.hasAfter) draft.changesUnavailable = unavailable;
  }
  if (record.failure) draft.error = errorOf(record.failure.error);
  else if (start && start.statusCode >= 400) draft.error = errorFromResponse(start);
  const message = ctx.message ?? meta?.message;
  if (message !== undefined) draft.message = message;
  if (ctx.filter !== undefined) draft.filter = ctx.filter;
  if (ctx.results !== undefined) draft.results = ctx.results;
  if (meta?.captureBody && req.body !== undefined) draft.body = req.body;
  if (meta?.captureResult && result !== undefined) draft.responseBody = result;
  if (meta?.redact?.length) draft.redact = meta.redact;
  return draft;
}

/** The parts of a {@link RequestRecord} a draft is made of. */
export type RecordLike = Pick<
  RequestRecord,
  | 'ctx'
  | 'req'
  | 'failure'
  | 'result'
  | 'aborted'
  | 'started'
  | 'changesUnavailable'
  | 'respondedEarly'
  | 'rowChange'
>;
