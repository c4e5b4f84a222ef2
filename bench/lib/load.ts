import autocannon from 'autocannon';
import { REQUEST_BODY } from '../config';
import { LatencyHistogram } from './stats';

/** What one load cell measured. */
export interface LoadResult {
  /** 2xx responses per second over the cell. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** 2xx responses. */
  ok: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  durationS: number;
}

export interface LoadSettings {
  port: number;
  method: 'GET' | 'PATCH';
  path: string;
  connections: number;
  durationS: number;
}

/**
 * Drives one server with autocannon: a fixed number of connections, each sending the next
 * request as soon as the previous answered (closed loop), for a fixed duration.
 */
export function runLoad(settings: LoadSettings): Promise<LoadResult> {
  const latencies = new LatencyHistogram();
  return new Promise<LoadResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${settings.port}${settings.path}`,
        method: settings.method,
        ...(settings.method === 'GET'
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: REQUEST_BODY }),
        connections: settings.connections,
        duration: settings.durationS,
        // A request stuck longer than this is an error of the configuration, not a latency.
        timeout: 10,
      },
      (error: unknown, result: autocannon.Result) => {
        if (error) {
          reject(
            error instanceof Error
              ? error
              : new Error(`autocannon failed: ${JSON.stringify(error)}`),
          );
          return;
        }
        const ok = result['2xx'];
        resolve({
          rps: ok / result.duration,
          p50Ms: latencies.percentile(0.5),
          p99Ms: latencies.percentile(0.99),
          ok,
          non2xx: result.non2xx,
          errors: result.errors,
          durationS: result.duration,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      // Like autocannon's own figures, latency counts successful responses only.
      if (statusCode >= 200 && statusCode < 300) latencies.record(responseTime);
    });
  });
}
