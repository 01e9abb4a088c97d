// The chat window's heap in a busy room (issue 18: RSS <= 60 MiB at 2000 msg/s). With the small young generation
// bin/chat.js asks for, each burst of messages promotes what it has in hand to the old generation, where it dies
// soon after; V8 collects the old generation only when it reaches its first limit, far above the ~10 MiB a chat
// window keeps alive, so the heap and RSS grew by the garbage of the whole burst. Here, once a second, when the old
// generation holds GROWTH_BYTES more than its low point since the last request, an incremental full collection is
// asked for (a few ms of CPU on a heap this size). A quiet window is never touched.

import v8 from 'node:v8';
import vm from 'node:vm';

/** Growth of the old generation, past its low point, that asks for a collection. */
export const GROWTH_BYTES = 3 * 1024 * 1024;
const CHECK_EVERY_MS = 1000;

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => unknown;

/** V8's gc() for this process (the flag exposes it to contexts created afterwards), or null. */
function exposedGc(): GcFunction | null {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as GcFunction) : null;
  } catch {
    return null;
  }
}

function oldSpaceUsed(): number {
  return v8.getHeapSpaceStatistics().find((space) => space.space_name === 'old_space')?.space_used_size ?? 0;
}

/** Whether the old generation grew enough past its low point to ask for a collection. */
export function shouldCollect(used: number, lowPoint: number, growth = GROWTH_BYTES): boolean {
  return used - lowPoint > growth;
}

/** Checks on an unref'd timer; returns a stop function. Does nothing where V8 will not expose gc(). */
export function boundOldSpace(onCollect: () => void = () => {}): () => void {
  const gc = exposedGc();
  if (!gc) return () => {};
  let lowPoint = oldSpaceUsed();
  const timer = setInterval(() => {
    const used = oldSpaceUsed();
    lowPoint = Math.min(lowPoint, used);
    if (!shouldCollect(used, lowPoint)) return;
    gc({ type: 'major', execution: 'async' });
    // The collection ends in a later turn: the low point follows it down from here.
    lowPoint = used;
    onCollect();
  }, CHECK_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
