import { startModuleWorker } from '../common/module-worker';
import { WorkerCalls } from '../common/worker-calls';
import {
  CHAIN_HASHER_ENTRY,
  type ChainHasherRequest,
  type ChainHasherWorkerData,
} from './chain-hasher-worker';

/**
 * Makes chain links in a worker thread, so that chaining costs the application's event loop
 * only the hand-over of the events' text (a store that chains after commit would otherwise
 * spend tens of microseconds per event there).
 */
export class ChainHasher {
  private readonly calls = new WorkerCalls<ChainHasherRequest, ArrayBuffer>(
    'making chain links',
    () => {
      const data: ChainHasherWorkerData = {
        role: 'nestjs-audit-chain-hasher',
        entry: CHAIN_HASHER_ENTRY,
      };
      return startModuleWorker(data);
    },
  );

  /**
   * The links of events given as their stored JSON text, one after the other after `previous`
   * (`null`: the genesis), end to end in one buffer (32 bytes each).
   * @throws AuditStoreError when the worker cannot run or a payload is not JSON.
   */
  async link(previous: Uint8Array | null, payloads: readonly string[]): Promise<Uint8Array> {
    if (payloads.length === 0) return new Uint8Array(0);
    return new Uint8Array(await this.calls.call({ previous, payloads }));
  }

  /** Stops the worker. */
  close(): Promise<void> {
    return this.calls.close();
  }
}
