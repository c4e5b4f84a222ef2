import type { AuditOrigin } from '../capture/request-facts';
import type { AuditEventDraft } from '../event/build-event';
import { ROW_CHANGE_VERBS, type AuditRowChange } from '../event/row-change';

/**
 * The draft of the event of one committed row change that is recorded on its own: inside a
 * request it carries the request's actor, source, request id and tenant; outside one (a job, a
 * script) the actor is the service.
 */
export function rowChangeDraft(change: AuditRowChange, origin: AuditOrigin): AuditEventDraft {
  const draft: AuditEventDraft = {
    action: `${change.resourceType}.${ROW_CHANGE_VERBS[change.kind]}`,
    outcome: 'success',
    level: 'info',
    actor: origin.actor,
    target: { type: change.resourceType, ...(change.id === undefined ? {} : { id: change.id }) },
  };
  const facts = origin.facts;
  if (facts) {
    draft.source = facts.source;
    draft.request = facts.request;
    if (facts.tenant !== undefined) draft.tenant = facts.tenant;
  }
  if (change.before !== undefined) draft.before = change.before;
  if (change.after !== undefined) draft.after = change.after;
  if (change.bulk) {
    // The rows were not read: what was asked and how many rows it touched, never a diff.
    draft.filter = change.bulk.criteria;
    draft.results = {
      ...(change.bulk.set === undefined ? {} : { set: change.bulk.set }),
      ...(change.bulk.count === undefined ? {} : { count: change.bulk.count }),
    };
    draft.message = `${ROW_CHANGE_VERBS[change.kind]} of ${change.bulk.count ?? 'an unknown number of'} ${change.resourceType} rows by criteria`;
  }
  return draft;
}
