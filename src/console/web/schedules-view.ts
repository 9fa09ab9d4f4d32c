// The schedules table: the API's page (filtered by state and labels server-side, paged by its
// opaque cursor), narrowed by the text box and the last run's status in the browser.
import { api } from './api.ts';
import { h, replace } from './dom.ts';
import {
  expressionOf,
  kindOf,
  labelText,
  localTime,
  matchesText,
  parseLabelFilter,
  relative,
  zoneOf,
} from './format.ts';
import type { Run, Schedule } from './types.ts';
import type { Ctx, View } from './view.ts';

const PAGE_SIZE = 25;

export function schedulesView(main: HTMLElement, ctx: Ctx): View {
  const cursors: (string | undefined)[] = [undefined];
  let pageIndex = 0;
  let nextCursor: string | null = null;

  const text = h('input', { type: 'search', id: 'filter-text', placeholder: 'name, expression, url…' });
  const labels = h('input', { type: 'text', id: 'filter-label', placeholder: 'team=a, env=prod' });
  const state = h(
    'select',
    { id: 'filter-state' },
    h('option', { value: '' }, 'all'),
    h('option', { value: 'false' }, 'active'),
    h('option', { value: 'true' }, 'paused'),
  );
  const last = h(
    'select',
    { id: 'filter-last' },
    ...['', 'succeeded', 'failed', 'running', 'skipped', 'missed', 'none'].map((s) =>
      h('option', { value: s }, s === '' ? 'any' : s === 'none' ? 'never ran' : s),
    ),
  );
  const labelError = h('div', { class: 'field-error' });
  const body = h('tbody');
  const prev = h('button', { type: 'button', id: 'page-prev' }, '← Newer');
  const next = h('button', { type: 'button', id: 'page-next' }, 'Older →');
  const pageInfo = h('span', { class: 'muted' });

  const restart = () => {
    cursors.length = 1;
    pageIndex = 0;
    void view.refresh();
  };
  for (const el of [labels, state]) el.addEventListener('change', restart);
  for (const el of [text, last]) el.addEventListener('input', () => void view.refresh());
  prev.addEventListener('click', () => {
    if (pageIndex > 0) pageIndex--;
    void view.refresh();
  });
  next.addEventListener('click', () => {
    if (nextCursor === null) return;
    cursors[pageIndex + 1] = nextCursor;
    pageIndex++;
    void view.refresh();
  });

  replace(
    main,
    h(
      'div',
      { class: 'actions' },
      h('h1', {}, 'Schedules'),
      h(
        'button',
        { type: 'button', class: 'primary', id: 'new-schedule', onclick: () => ctx.go('#/new') },
        'New schedule',
      ),
    ),
    h(
      'div',
      { class: 'filters' },
      h('label', {}, 'Search', text),
      h('label', {}, 'Labels', labels),
      h('label', {}, 'State', state),
      h('label', {}, 'Last run', last),
      labelError,
    ),
    h(
      'table',
      { id: 'schedules' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Name', 'Kind', 'Expression', 'Zone', 'Paused', 'Next run', 'Last run', 'Labels'].map((t) =>
            h('th', {}, t),
          ),
        ),
      ),
      body,
    ),
    h('div', { class: 'pager' }, prev, next, pageInfo),
  );

  const row = (s: Schedule, lastRun: Run | null | undefined, now: Date) =>
    h(
      'tr',
      { 'data-name': s.name },
      h('td', {}, h('a', { href: `#/s/${s.id}` }, s.name)),
      h('td', {}, kindOf(s.schedule)),
      h('td', { class: 'mono' }, expressionOf(s.schedule)),
      h('td', {}, zoneOf(s.schedule)),
      h('td', {}, s.paused ? 'paused' : ''),
      h('td', { title: s.nextRunAt ?? '' }, s.paused ? '—' : relative(s.nextRunAt, now)),
      h(
        'td',
        {
          class: lastRun ? `st-${lastRun.status}` : 'muted',
          title: lastRun ? localTime(lastRun.scheduledFor) : '',
        },
        lastRun === undefined
          ? '…'
          : lastRun === null
            ? 'never ran'
            : `${lastRun.status} ${relative(lastRun.scheduledFor, now)}`,
      ),
      h('td', {}, ...labelText(s.labels).map((l) => h('span', { class: 'pill' }, l))),
    );

  const view: View = {
    async refresh() {
      const parsed = parseLabelFilter(labels.value);
      labelError.textContent = parsed.error ?? '';
      if (parsed.error) return;
      try {
        const page = await api.listSchedules({
          limit: PAGE_SIZE,
          ...(cursors[pageIndex] ? { cursor: cursors[pageIndex] } : {}),
          ...(state.value ? { paused: state.value === 'true' } : {}),
          ...(parsed.labels.length ? { labels: parsed.labels } : {}),
        });
        nextCursor = page.nextCursor;
        // The last run of each schedule on the page: one small request each, in parallel.
        const lastRuns = await Promise.all(
          page.items.map((s) =>
            api.runs(s.id, { limit: 1 }).then(
              (r) => r.items[0] ?? null,
              () => undefined,
            ),
          ),
        );
        const now = new Date();
        const rows = page.items
          .map((s, i) => ({ s, run: lastRuns[i] }))
          .filter(({ s }) => matchesText(s, text.value))
          .filter(({ run }) => {
            if (last.value === '') return true;
            if (last.value === 'none') return run === null;
            return run?.status === last.value;
          });
        replace(
          body,
          rows.length
            ? rows.map(({ s, run }) => row(s, run, now))
            : h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No schedules match.')),
        );
        prev.disabled = pageIndex === 0;
        next.disabled = nextCursor === null;
        pageInfo.textContent = `page ${pageIndex + 1} · ${rows.length} shown of ${page.items.length}`;
        ctx.ok();
      } catch (err) {
        ctx.fail(err);
      }
    },
  };
  return view;
}
