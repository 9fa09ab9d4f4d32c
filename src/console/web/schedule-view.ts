// One schedule: its definition, the actions on it (destructive ones confirmed inline), its run
// history with a lateness chart, refreshed in place.
import { api } from './api.ts';
import { latenessChart } from './chart.ts';
import { h, replace } from './dom.ts';
import {
  expressionOf,
  kindOf,
  labelText,
  localTime,
  millis,
  relative,
  responseSummary,
  zoneOf,
} from './format.ts';
import type { Run, Schedule } from './types.ts';
import type { Ctx, View } from './view.ts';

const RUNS_PAGE = 50;

export function scheduleView(main: HTMLElement, ctx: Ctx, id: string): View {
  let schedule: Schedule | null = null;
  /** Deleted from this page: a refresh already under way must not report the 404. */
  let deleted = false;
  const title = h('h1', {}, 'Schedule');
  const summary = h('dl', { class: 'grid', id: 'summary' });
  const actions = h('div', { class: 'actions', id: 'schedule-actions' });
  const definition = h('pre', { id: 'definition' });
  const chart = h('div', {});
  const runsBody = h('tbody');
  const runsCursors: (string | undefined)[] = [undefined];
  let runsPage = 0;
  let runsNext: string | null = null;
  const older = h('button', { type: 'button' }, 'Older runs →');
  const newer = h('button', { type: 'button' }, '← Newer runs');
  older.addEventListener('click', () => {
    if (runsNext === null) return;
    runsCursors[runsPage + 1] = runsNext;
    runsPage++;
    void view.refresh();
  });
  newer.addEventListener('click', () => {
    if (runsPage > 0) runsPage--;
    void view.refresh();
  });

  replace(
    main,
    h('p', {}, h('a', { href: '#/' }, '← Schedules')),
    title,
    summary,
    actions,
    h('h2', {}, 'Lateness'),
    chart,
    h('h2', {}, 'Runs'),
    h(
      'table',
      { id: 'runs' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...[
            'Scheduled for',
            'Status',
            'Trigger',
            'Leader',
            'Epoch',
            'Lateness',
            'Attempts',
            'Response',
          ].map((t) => h('th', {}, t)),
        ),
      ),
      runsBody,
    ),
    h('div', { class: 'pager' }, newer, older),
    h('h2', {}, 'Definition'),
    definition,
  );

  const act = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      ctx.flash(what);
      await view.refresh();
    } catch (err) {
      ctx.fail(err);
    }
  };

  /** A destructive or visible action: the button turns into "are you sure?" with yes / no. */
  const confirmed = (label: string, question: string, cls: string, fn: () => Promise<void>) => {
    const button = h('button', { type: 'button', class: cls, 'data-action': label.toLowerCase() }, label);
    button.addEventListener('click', () => {
      const bar = h(
        'span',
        { class: 'confirm', role: 'alertdialog' },
        question,
        h(
          'button',
          {
            type: 'button',
            class: 'danger',
            'data-confirm': 'yes',
            onclick: () => {
              bar.replaceWith(button);
              void fn();
            },
          },
          `Yes, ${label.toLowerCase()}`,
        ),
        h('button', { type: 'button', onclick: () => bar.replaceWith(button) }, 'Cancel'),
      );
      button.replaceWith(bar);
    });
    return button;
  };

  const drawActions = (s: Schedule) =>
    replace(
      actions,
      s.paused
        ? h(
            'button',
            {
              type: 'button',
              'data-action': 'resume',
              onclick: () => void act('Resumed', () => api.resume(s.id)),
            },
            'Resume',
          )
        : h(
            'button',
            {
              type: 'button',
              'data-action': 'pause',
              onclick: () => void act('Paused', () => api.pause(s.id)),
            },
            'Pause',
          ),
      confirmed('Trigger', `Run ${s.name} once now?`, '', () =>
        act('Triggered: the leader runs it now', () => api.trigger(s.id)),
      ),
      h(
        'button',
        { type: 'button', 'data-action': 'edit', onclick: () => ctx.go(`#/s/${s.id}/edit`) },
        'Edit',
      ),
      confirmed('Delete', `Delete ${s.name} and stop its fires?`, 'danger', async () => {
        try {
          deleted = true;
          await api.deleteSchedule(s.id);
          ctx.flash(`Deleted ${s.name}`);
          ctx.go('#/');
        } catch (err) {
          deleted = false;
          ctx.fail(err);
        }
      }),
    );

  const runRow = (r: Run) =>
    h(
      'tr',
      {},
      h('td', { title: r.scheduledFor }, localTime(r.scheduledFor)),
      h('td', { class: `st-${r.status}` }, r.status),
      h('td', {}, r.trigger),
      h('td', {}, r.leader ?? '—'),
      h('td', {}, r.epoch ?? '—'),
      h('td', {}, millis(r.latenessMs)),
      h('td', {}, r.attempts),
      h('td', { class: 'mono' }, responseSummary(r)),
    );

  const view: View = {
    async refresh() {
      if (deleted) return;
      try {
        const [s, runs] = await Promise.all([
          api.getSchedule(id),
          api.runs(id, {
            limit: RUNS_PAGE,
            ...(runsCursors[runsPage] ? { cursor: runsCursors[runsPage] } : {}),
          }),
        ]);
        const now = new Date();
        const changed = schedule?.version !== s.version || schedule?.paused !== s.paused;
        schedule = s;
        title.textContent = s.name;
        replace(
          summary,
          ...(
            [
              ['Namespace', s.namespace ?? '—'],
              ['Kind', kindOf(s.schedule)],
              ['Expression', expressionOf(s.schedule, 5)],
              ['Zone', zoneOf(s.schedule)],
              ['State', s.paused ? 'paused' : 'active'],
              [
                'Next run',
                s.paused || !s.nextRunAt ? '—' : `${localTime(s.nextRunAt)} (${relative(s.nextRunAt, now)})`,
              ],
              ['Action', s.action.type + (typeof s.action.url === 'string' ? ` ${s.action.url}` : '')],
              ['Labels', labelText(s.labels).join(', ') || '—'],
              ['Version', String(s.version)],
            ] as const
          ).flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-field': k.toLowerCase() }, v)]),
        );
        if (changed) drawActions(s);
        definition.textContent = JSON.stringify(s, null, 2);
        runsNext = runs.nextCursor;
        older.disabled = runsNext === null;
        newer.disabled = runsPage === 0;
        replace(
          runsBody,
          runs.items.length
            ? runs.items.map(runRow)
            : h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No runs yet.')),
        );
        replace(chart, latenessChart(runs.items));
        ctx.ok();
      } catch (err) {
        if (!deleted) ctx.fail(err);
      }
    },
  };
  return view;
}
