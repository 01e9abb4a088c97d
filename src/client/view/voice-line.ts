// Voice messages as the log and the status line show them: `▶ 0:07 ▁▂▅▇▆▃▂▁` for a message, `● REC 0:03 ████░░░░`
// while recording. Pure.

import { t } from '../text/i18n/index.js';
import type { VoiceClip } from '../core/state.js';
import { formatDuration } from '../text/time.js';

const BLOCKS = '▁▂▃▄▅▆▇█';
/** Bars in a voice message's line: enough to see its shape, short enough for a narrow terminal. */
export const VOICE_BARS = 16;
/** Cells of the level meter. */
const METER_CELLS = 8;

/** The waveform in `bars` columns: each the loudest of its slices, scaled to the loudest of all. */
export function sparkline(levels: readonly number[], bars = VOICE_BARS): string {
  if (levels.length === 0) return '';
  const count = Math.min(bars, levels.length);
  const top = Math.max(1, ...levels);
  let line = '';
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * levels.length) / count);
    const to = Math.max(from + 1, Math.floor(((i + 1) * levels.length) / count));
    const level = Math.max(...levels.slice(from, to));
    line += BLOCKS[Math.min(BLOCKS.length - 1, Math.round((level / top) * (BLOCKS.length - 1)))];
  }
  return line;
}

/** A voice message's body in the log: `▶ 0:07 ▁▂▅▇▆▃▂▁ #2` (the number is what /play takes). */
export function voiceLine(clip: VoiceClip & { number?: number }): string {
  const number = clip.number !== undefined ? ` #${clip.number}` : '';
  return `▶ ${formatDuration(clip.durationMs / 1000)} ${sparkline(clip.waveform)}${number}`;
}

/** The status line's head while recording: `● REC 0:03 ████░░░░ Enter sends, Esc cancels`. */
export function recordingLine(elapsedMs: number, level: number): string {
  const filled = Math.max(0, Math.min(METER_CELLS, Math.round(level * METER_CELLS)));
  const meter = '█'.repeat(filled) + '░'.repeat(METER_CELLS - filled);
  return `● ${t('voice.rec', { time: formatDuration(Math.floor(elapsedMs / 1000)) })} ${meter} ${t('voice.recLine')}`;
}
