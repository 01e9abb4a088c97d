// Sizes in IEC units (1 KiB = 1024 B), the one way the TUI, the CLI and the progress lines write them.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** The power of 1024 `bytes` is written in: 0 (B) up to 4 (TiB). */
function powerOf(bytes: number): number {
  let power = 0;
  while (bytes >= 1024 ** (power + 1) && power < UNITS.length - 1) power++;
  return power;
}

/** A number in `power`'s unit: one decimal below 10 (`1.5`), whole from 10 on (`300`); bytes are always whole. */
function scaled(bytes: number, power: number, precisionOf: number): string {
  if (power === 0) return String(bytes);
  return precisionOf / 1024 ** power < 10 ? (bytes / 1024 ** power).toFixed(1) : String(Math.round(bytes / 1024 ** power));
}

/** `10 B`, `1.5 KiB`, `300 KiB`, `3.0 MiB`, `32 MiB`. */
export function formatSize(bytes: number): string {
  const power = powerOf(bytes);
  return `${scaled(bytes, power, bytes)} ${UNITS[power]}`;
}

/** `bytes` as a number in the unit and precision formatSize picks for `total` (so that `0.3/10.0 MiB` reads right). */
export function inUnitOf(bytes: number, total: number): string {
  return scaled(bytes, powerOf(total), total);
}
