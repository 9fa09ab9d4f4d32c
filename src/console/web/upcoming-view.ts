// The next fires across every schedule: a time axis (one lane per schedule) and the list.
import { api } from './api.ts';
import { h, replace, svg, svgText } from './dom.ts';
import { expressionOf, localTime, relative } from './format.ts';
import type { Schedule } from './types.ts';
import { upcomingFires } from './upcoming.ts';
import type { Ctx, View } from './view.ts';

const MAX_SCHEDULES = 2000;
const MAX_LANES = 20;

async function allSchedules(): Promise<Schedule[]> {
  const out: Schedule[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.listSchedules({ limit: 500, paused: false, ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && out.length < MAX_SCHEDULES);
  return out;
}

export function upcomingView(main: HTMLElement, ctx: Ctx): View {
  const count = h(
    'select',
    { id: 'upcoming-n' },
    ...['20', '50', '100', '200'].map((n) => h('option', { value: n, selected: n === '50' }, n)),
  );
  const horizon = h(
    'select',
    { id: 'upcoming-horizon' },
    ...[
      ['1 h', 3_600_000],
      ['24 h', 86_400_000],
      ['7 d', 7 * 86_400_000],
    ].map(([label, ms]) => h('option', { value: String(ms), selected: label === '24 h' }, String(label))),
  );
  const axis = h('div', {});
  const list = h('tbody');
  for (const el of [count, horizon]) el.addEventListener('change', () => void view.refresh());
  replace(
    main,
    h('h1', {}, 'Upcoming fires'),
    h('div', { class: 'filters' }, h('label', {}, 'Next', count), h('label', {}, 'Within', horizon)),
    axis,
    h(
      'table',
      { id: 'upcoming' },
      h('thead', {}, h('tr', {}, ...['When', 'In', 'Schedule', 'Expression'].map((t) => h('th', {}, t)))),
      list,
    ),
    h(
      'p',
      { class: 'muted' },
      'Active schedules only. The first fire of each is the server’s nextRunAt; later ones are computed in the browser with the same cron rules.',
    ),
  );

  const view: View = {
    async refresh() {
      try {
        const now = new Date();
        const fires = upcomingFires(await allSchedules(), Number(count.value), now, Number(horizon.value));
        replace(
          list,
          fires.length
            ? fires.map((f) =>
                h(
                  'tr',
                  {},
                  h('td', { title: f.at.toISOString() }, localTime(f.at.toISOString())),
                  h('td', {}, relative(f.at.toISOString(), now)),
                  h('td', {}, h('a', { href: `#/s/${f.schedule.id}` }, f.schedule.name)),
                  h('td', { class: 'mono' }, expressionOf(f.schedule.schedule)),
                ),
              )
            : h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'Nothing fires in this window.')),
        );
        replace(axis, timeline(fires, now));
        ctx.ok();
      } catch (err) {
        ctx.fail(err);
      }
    },
  };
  return view;
}

function timeline(fires: ReturnType<typeof upcomingFires>, now: Date): SVGElement {
  const names = [...new Set(fires.map((f) => f.schedule.name))].slice(0, MAX_LANES);
  const lane = 18;
  const [left, right, top] = [160, 16, 10];
  const width = 900;
  const height = top + names.length * lane + 30;
  const root = svg('svg', {
    class: 'chart',
    id: 'upcoming-axis',
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': 'upcoming fires on a time axis',
  });
  if (fires.length === 0) return root;
  const t0 = now.getTime();
  const t1 = Math.max(fires.at(-1)!.at.getTime(), t0 + 1000);
  const x = (t: number) => left + ((t - t0) / (t1 - t0)) * (width - left - right);
  const yBase = top + names.length * lane;
  root.append(svg('line', { class: 'axis', x1: left, y1: yBase, x2: width - right, y2: yBase }));
  root.append(
    svgText(left, yBase + 16, 'now'),
    svgText(width - right, yBase + 16, localTime(new Date(t1).toISOString()), 'end'),
  );
  names.forEach((name, i) => {
    const y = top + i * lane + lane / 2;
    root.append(svgText(left - 8, y + 4, name.length > 22 ? `${name.slice(0, 21)}…` : name, 'end'));
    root.append(svg('line', { class: 'axis', x1: left, y1: y, x2: width - right, y2: y }));
  });
  for (const f of fires) {
    const i = names.indexOf(f.schedule.name);
    if (i < 0) continue;
    const dot = svg('circle', {
      class: 'dot',
      cx: x(f.at.getTime()).toFixed(1),
      cy: top + i * lane + lane / 2,
      r: 4,
    });
    const title = svg('title');
    title.textContent = `${f.schedule.name} at ${localTime(f.at.toISOString())}`;
    dot.append(title);
    root.append(dot);
  }
  return root;
}
