// Memory back after a burst. While many connections join, V8 grows its young generation to 2 x 16 MiB (the new
// sessions survive its scavenges) and keeps it: on a server that then sits idle that is ~3 KiB per connection at
// 10 000. Once the event loop has been quiet for a whole check and the young generation is still that large, an
// incremental full collection is asked for. V8 shrinks the young generation at the end of a collection that finds
// the allocation rate of the last few seconds low: the first one after a burst usually still sees the burst, so a
// second is asked for a few seconds later (bench/README.md, "Idle memory"). Busy servers are never touched.

import v8 from 'node:v8';
import vm from 'node:vm';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

export interface MemoryTrimOptions {
  checkEveryMs?: number;
  /** Told when a collection is asked for, and when the young generation was found small again after one. */
  onTrim?: (youngBytes: number) => void;
  onShrunk?: (youngBytes: number) => void;
}

/** Event-loop busy share under which a check counts as quiet. */
export const QUIET_UTILIZATION = 0.02;
/** V8 starts the young generation at 1 MiB; above this it grew in a burst. */
export const GROWN_YOUNG_BYTES = 4 * 1024 * 1024;
/** Between requests: longer than the window V8 measures the allocation rate over (5 s). */
export const RETRY_GAP_MS = 6_000;
/** After this many requests without a shrink (its live data may really be that large), one a minute at most. */
export const RETRIES = 3;
export const SLOW_GAP_MS = 60_000;

export interface TrimState {
  utilization: number;
  youngBytes: number;
  msSinceLastRequest: number;
  /** Requests since the young generation was last seen small. */
  requestsWithoutShrink: number;
}

export function shouldTrim({ utilization, youngBytes, msSinceLastRequest, requestsWithoutShrink }: TrimState): boolean {
  const gap = requestsWithoutShrink < RETRIES ? RETRY_GAP_MS : SLOW_GAP_MS;
  return utilization < QUIET_UTILIZATION && youngBytes > GROWN_YOUNG_BYTES && msSinceLastRequest >= gap;
}

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => unknown;

/** V8's gc(), for this process only: the flag exposes it to contexts created afterwards (as jest-leak-detector does). */
function exposedGc(): GcFunction | null {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as GcFunction) : null;
  } catch {
    return null;
  }
}

function youngGenerationBytes(): number {
  return v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.physical_space_size ?? 0;
}

/** Checks on an unref'd timer; returns a stop function. Does nothing where V8 will not expose gc(). */
export function startMemoryTrim({ checkEveryMs = 2000, onTrim, onShrunk }: MemoryTrimOptions = {}): () => void {
  const gc = exposedGc();
  if (!gc) return () => {};
  let previous: EventLoopUtilization = performance.eventLoopUtilization();
  let lastRequest = -Infinity;
  let requestsWithoutShrink = 0;
  const timer = setInterval(() => {
    const current = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(current, previous);
    previous = current;
    const youngBytes = youngGenerationBytes();
    if (youngBytes <= GROWN_YOUNG_BYTES) {
      if (requestsWithoutShrink > 0) onShrunk?.(youngBytes);
      requestsWithoutShrink = 0;
    }
    const now = performance.now();
    if (!shouldTrim({ utilization, youngBytes, msSinceLastRequest: now - lastRequest, requestsWithoutShrink })) return;
    lastRequest = now;
    requestsWithoutShrink++;
    onTrim?.(youngBytes);
    // Incremental: the marking is done in small steps between events, not in one pause.
    const pending = gc({ type: 'major', execution: 'async' });
    if (pending instanceof Promise) pending.catch(() => {});
  }, checkEveryMs);
  timer.unref();
  return () => clearInterval(timer);
}
