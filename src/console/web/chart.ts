// Hand-drawn SVG charts (no chart library: two small charts do not justify one).
import { svg, svgText } from './dom.ts';
import { localTime, millis } from './format.ts';
import type { Box } from './plot.ts';
import { scalePoints } from './plot.ts';
import type { Run } from './types.ts';

const BOX: Box = { width: 720, height: 180, pad: [56, 12, 12, 26] };

/**
 * Lateness (fire time − occurrence) of each scheduled or catch-up run over time; failed runs in
 * red. Manual runs are left out: they have no occurrence to be late for.
 */
export function latenessChart(runs: Run[]): SVGElement {
  const withLateness = runs.filter((r) => r.latenessMs !== null && r.trigger !== 'manual').reverse();
  const root = svg('svg', {
    class: 'chart',
    id: 'lateness-chart',
    viewBox: `0 0 ${BOX.width} ${BOX.height}`,
    role: 'img',
    'aria-label': 'lateness of each run over time',
  });
  const [left, right, top, bottom] = BOX.pad;
  const y0 = BOX.height - bottom;
  root.append(
    svg('line', { class: 'axis', x1: left, y1: y0, x2: BOX.width - right, y2: y0 }),
    svg('line', { class: 'axis', x1: left, y1: top, x2: left, y2: y0 }),
  );
  if (withLateness.length === 0) {
    root.append(svgText(BOX.width / 2, BOX.height / 2, 'no runs with a lateness yet', 'middle'));
    return root;
  }
  const { points, yMax, tMin, tMax } = scalePoints(
    withLateness.map((r) => ({ t: Date.parse(r.scheduledFor), v: r.latenessMs ?? 0 })),
    BOX,
  );
  root.append(
    svgText(left - 6, top + 8, millis(yMax), 'end'),
    svgText(left - 6, y0, '0', 'end'),
    svgText(left, BOX.height - 6, localTime(new Date(tMin).toISOString())),
    svgText(BOX.width - right, BOX.height - 6, localTime(new Date(tMax).toISOString()), 'end'),
    svg('polyline', {
      class: 'line',
      points: points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' '),
    }),
  );
  points.forEach((p, i) => {
    const run = withLateness[i]!;
    const dot = svg('circle', {
      class: run.status === 'failed' ? 'dot bad' : 'dot',
      cx: p.x.toFixed(1),
      cy: p.y.toFixed(1),
      r: 3,
    });
    const title = svg('title');
    title.textContent = `${localTime(run.scheduledFor)}: ${millis(run.latenessMs)} late, ${run.status}`;
    dot.append(title);
    root.append(dot);
  });
  return root;
}
