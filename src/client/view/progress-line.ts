// A running transfer drawn as one line under the log.

import { t } from '../text/i18n/index.js';
import type { Figures, Transfer } from '../core/transfers.js';
import { formatSize, inUnitOf } from '../text/size.js';
import { formatDuration } from '../text/time.js';
import { stringWidth, truncateToWidth } from '../text/width.js';

/**
 * One transfer as a line of at most `width` columns:
 * `⇣ report.pdf [██████░░░░░░] 48% 4.8/10 MiB 2.1 MiB/s ETA 0:03` (sizes as in the log). The bar takes what room is left (at least 5).
 */
export function progressLine(transfer: Transfer, figures: Figures, width: number): string {
  const arrow = transfer.direction === 'up' ? '\u21e1' : '\u21e3';
  if (!transfer.begun && transfer.hashing) {
    const { done, total } = transfer.hashing;
    const percent = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0;
    return truncateToWidth(t('tui.hashing', { arrow, name: transfer.name, percent, size: formatSize(total) }), width);
  }
  const sizes = `${inUnitOf(transfer.done, transfer.total)}/${formatSize(transfer.total)}`;
  const speed = figures.speed > 0 ? `${formatSize(Math.round(figures.speed))}/s` : '-/s';
  const eta = figures.eta === null ? t('progress.etaUnknown') : t('progress.eta', { time: formatDuration(figures.eta) });
  const tail = ` ${String(figures.percent).padStart(3)}% ${sizes} ${speed} ${eta}`;
  const maxName = Math.max(8, Math.floor(width / 3));
  const name = stringWidth(transfer.name) > maxName ? truncateToWidth(transfer.name, maxName - 1) + '\u2026' : transfer.name;
  const head = `${arrow} ${name} `;
  const barWidth = Math.min(30, width - stringWidth(head) - stringWidth(tail) - 2);
  if (barWidth < 5) return truncateToWidth(`${head}${tail.trimStart()}`, width);
  const filled = Math.round((figures.percent / 100) * barWidth);
  const bar = `[${'\u2588'.repeat(filled)}${'\u2591'.repeat(barWidth - filled)}]`;
  return truncateToWidth(`${head}${bar}${tail}`, width);
}
