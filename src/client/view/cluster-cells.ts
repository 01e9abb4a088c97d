// Stand-ins for grapheme clusters: one code point of Supplementary Private Use Area-A per distinct cluster, so that
// blessed, which works one code point per cell, gives a cluster exactly one cell (and its filler when wide).

const FIRST = 0xf0000;
const LAST = 0xffffd;
/** Any stand-in: what the terminal must never see. */
const STAND_IN = /[\u{f0000}-\u{ffffd}]/gu;

const byCluster = new Map<string, string>();
const byStandIn = new Map<number, { cluster: string; width: number }>();

/** The stand-in of `cluster` (drawn `width` columns wide); null once all 65 534 are taken. */
export function standInFor(cluster: string, width: number): string | null {
  let standIn = byCluster.get(cluster);
  if (standIn === undefined) {
    const point = FIRST + byStandIn.size;
    if (point > LAST) return null;
    standIn = String.fromCodePoint(point);
    byCluster.set(cluster, standIn);
    byStandIn.set(point, { cluster, width });
  }
  return standIn;
}

export function isStandIn(point: number): boolean {
  return point >= FIRST && point <= LAST;
}

export function standInWidth(point: number): number {
  return byStandIn.get(point)?.width ?? 1;
}

/** `text` with every stand-in replaced by its cluster (an unknown one by nothing). */
export function restoreClusters(text: string): string {
  return text.replace(STAND_IN, (standIn) => byStandIn.get(standIn.codePointAt(0)!)?.cluster ?? '');
}
