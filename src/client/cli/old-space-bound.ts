// The chat window's heap in a busy room (issue 18: RSS <= 60 MiB at 2000 msg/s). With the small young generation
// bin/chat.js asks for, each burst of messages promotes what it has in hand to the old generation, where it dies
// soon after; V8 collects the old generation only when it reaches its first limit, far above the ~10 MiB a chat
// window keeps alive, so the heap and RSS grew by the garbage of the whole burst. Here, four times a second, when the
// old generation holds GROWTH_BYTES more than its low point since the last request, an incremental full collection
// is asked for (a few ms of CPU on a heap this size: about one a second at 2000 msg/s). A quiet window is never
// touched.

import vm from 'node:vm';

/** node:v8 when first needed (its first check, 250 ms in): it loads 4 modules the first frame does not need. */
const v8 = () => process.getBuiltinModule('node:v8');

/** Growth of the old generation, past its low point, that asks for a collection. */
export const GROWTH_BYTES = 1 * 1024 * 1024;
const CHECK_EVERY_MS = 250;

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => unknown;

/**
 * V8's gc() for this process, or null. Its flag exposes it to contexts created afterwards, and is then set back: V8
 * checks its flags against those a code cache was made with (cli/launch.cts), and a flag left changed would have
 * every later start's cache rejected.
 */
function exposedGc(): GcFunction | null {
  const global = (globalThis as { gc?: unknown }).gc;
  if (typeof global === 'function') return global as GcFunction;
  try {
    v8().setFlagsFromString('--expose-gc');
    try {
      const gc = vm.runInNewContext('gc') as unknown;
      return typeof gc === 'function' ? (gc as GcFunction) : null;
    } finally {
      v8().setFlagsFromString('--no-expose-gc');
    }
  } catch {
    return null;
  }
}

function oldSpaceUsed(): number {
  return v8().getHeapSpaceStatistics().find((space) => space.space_name === 'old_space')?.space_used_size ?? 0;
}

/** Whether the old generation grew enough past its low point to ask for a collection. */
export function shouldCollect(used: number, lowPoint: number, growth = GROWTH_BYTES): boolean {
  return used - lowPoint > growth;
}

/**
 * Checks on an unref'd timer; returns a stop function. gc() is fetched when first needed (a new V8 context, kept
 * out of the start); where V8 will not expose it, nothing is collected.
 */
export function boundOldSpace(onCollect: () => void = () => {}): () => void {
  let gc: GcFunction | null | undefined;
  let lowPoint = Infinity;
  const timer = setInterval(() => {
    const used = oldSpaceUsed();
    lowPoint = Math.min(lowPoint, used);
    if (!shouldCollect(used, lowPoint)) return;
    gc ??= exposedGc();
    if (!gc) return clearInterval(timer);
    gc({ type: 'major', execution: 'async' });
    // The collection ends in a later turn: the low point follows it down from here.
    lowPoint = used;
    onCollect();
  }, CHECK_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
