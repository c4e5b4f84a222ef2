import { AuditError } from '../common/audit-error';

/**
 * Thrown by `parseCheckpointLines()` for a line that says it is an audit checkpoint but is
 * malformed; the message names the line. Fix or remove that line (or pass the file the module
 * wrote, unchanged).
 */
export class AuditCheckpointError extends AuditError {
  override readonly name = 'AuditCheckpointError';
  override readonly code = 'AUDIT_CHECKPOINT_INVALID';
}
