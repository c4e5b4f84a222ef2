import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { REQUEST_BODY } from '../config';
import type { LoadResult } from './load';
import { LatencyHistogram } from './stats';

export interface PacedSettings {
  port: number;
  method: 'GET' | 'PATCH';
  path: string;
  /** Most requests in flight (keep-alive sockets). */
  connections: number;
  durationS: number;
  /** Requests per second, evenly spaced. */
  rate: number;
}

/** How long the generator waits for the last answers after the schedule ended. */
const DRAIN_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * An open-loop load at an even rate. autocannon's rate limit is a per-second quota that each
 * connection spends as fast as it can at the start of every second, so its "fixed rate" is a burst
 * at saturation followed by silence. Here request i is due at start + i / rate; its latency is
 * counted from that due time, so waiting for a free connection behind a slow server counts too.
 */
export async function runPaced(settings: PacedSettings): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: settings.connections });
  const latencies = new LatencyHistogram();
  const body = Buffer.from(REQUEST_BODY);
  const total = Math.max(1, Math.round(settings.durationS * settings.rate));
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let inFlight = 0;
  let settled = 0;

  const send = (due: number): void => {
    inFlight += 1;
    const finish = (status: number | undefined): void => {
      inFlight -= 1;
      settled += 1;
      if (status === undefined) errors += 1;
      else if (status >= 200 && status < 300) {
        ok += 1;
        latencies.record(performance.now() - due);
      } else non2xx += 1;
    };
    const req = request(
      {
        host: '127.0.0.1',
        port: settings.port,
        path: settings.path,
        method: settings.method,
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        res.resume();
        res.once('end', () => finish(res.statusCode));
        res.once('error', () => finish(undefined));
      },
    );
    req.once('timeout', () => req.destroy(new Error('request timed out')));
    req.once('error', () => finish(undefined));
    req.end(body);
  };

  const start = performance.now();
  const intervalMs = 1000 / settings.rate;
  let sent = 0;
  try {
    while (sent < total) {
      const now = performance.now();
      // Every request whose due time has passed goes now: a late timer does not lower the rate.
      while (sent < total && start + sent * intervalMs <= now) {
        send(start + sent * intervalMs);
        sent += 1;
      }
      if (sent < total) await sleep(Math.max(0, start + sent * intervalMs - performance.now()));
    }
    const drainUntil = performance.now() + DRAIN_TIMEOUT_MS;
    while (inFlight > 0 && performance.now() < drainUntil) await sleep(5);
  } finally {
    agent.destroy();
  }
  // Answers that did not come back before the drain timeout are failures of the server.
  errors += total - settled;
  return {
    rps: ok / settings.durationS,
    p50Ms: latencies.percentile(0.5),
    p99Ms: latencies.percentile(0.99),
    ok,
    non2xx,
    errors,
    durationS: settings.durationS,
  };
}
