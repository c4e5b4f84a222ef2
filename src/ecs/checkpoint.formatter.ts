import { AUDIT_CHECKPOINT_ACTION, type AuditCheckpoint } from '../integrity/checkpoint';
import {
  AUDIT_LOGGER_NAME,
  ECS_VERSION,
  serviceFields,
  type EcsServiceInfo,
} from './ecs.formatter';

/** The ECS line of a checkpoint; same leading keys as every audit line. */
export interface EcsCheckpointDocument {
  '@timestamp': string;
  'log.level': 'info';
  message: string;
  'ecs.version': string;
  'log.logger': typeof AUDIT_LOGGER_NAME;
  event: {
    kind: 'event';
    action: typeof AUDIT_CHECKPOINT_ACTION;
    category: ['database'];
    type: ['info'];
    outcome: 'success';
    dataset: string;
  };
  service: EcsServiceInfo;
  audit: {
    checkpoint: { seq: number; hash: string; at: string; key_id?: string; signature?: string };
  };
}

/** Maps a checkpoint to its line in the audit stream. Pure. */
export function formatCheckpoint(
  checkpoint: AuditCheckpoint,
  service: EcsServiceInfo,
): EcsCheckpointDocument {
  const { seq, hash, at, keyId, signature } = checkpoint;
  return {
    '@timestamp': at,
    'log.level': 'info',
    message: `Audit trail checkpoint: #${seq}${hash === '' ? '' : ` ${hash.slice(0, 16)}…`}${signature === undefined ? '' : ` signed by ${keyId}`}`,
    'ecs.version': ECS_VERSION,
    'log.logger': AUDIT_LOGGER_NAME,
    event: {
      kind: 'event',
      action: AUDIT_CHECKPOINT_ACTION,
      category: ['database'],
      type: ['info'],
      outcome: 'success',
      dataset: `${service.name}.audit`,
    },
    service: serviceFields(service),
    audit: {
      checkpoint: {
        seq,
        hash,
        at,
        ...(keyId === undefined ? {} : { key_id: keyId }),
        ...(signature === undefined ? {} : { signature }),
      },
    },
  };
}
