// Scales for the console's small SVG charts: data → pixel positions with "nice" axis bounds.
// Pure, so the maths is unit-tested without a browser.

export interface Box {
  width: number;
  height: number;
  /** left, right, top, bottom margins for the axis labels */
  pad: [number, number, number, number];
}

export interface Point {
  x: number;
  y: number;
}

/** The smallest 1, 2 or 5 × 10^k at or above `v` (at least 1): the y axis's top. */
export function niceCeil(v: number): number {
  if (!(v > 1)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Time on x (oldest left), value on y (0 at the bottom); one time only is centred. */
export function scalePoints(
  data: { t: number; v: number }[],
  box: Box,
): { points: Point[]; yMax: number; tMin: number; tMax: number } {
  const [left, right, top, bottom] = box.pad;
  const w = box.width - left - right;
  const ht = box.height - top - bottom;
  const ts = data.map((d) => d.t);
  const tMin = Math.min(...ts);
  const tMax = Math.max(...ts);
  const yMax = niceCeil(Math.max(0, ...data.map((d) => d.v)));
  const points = data.map((d) => ({
    x: left + (tMax === tMin ? w / 2 : ((d.t - tMin) / (tMax - tMin)) * w),
    y: top + ht - (Math.max(0, Math.min(d.v, yMax)) / yMax) * ht,
  }));
  return { points, yMax, tMin, tMax };
}
