// Lives in common/ so the stores can throw it too; re-exported for the rest of the library.
export { AuditRecordError } from './common/audit-record.error';
