// Create or edit a schedule. The API validates; its problem document's `errors` are shown under
// the input each one names (schedule.cron under the schedule, action.url under the action, …).
import { ApiProblem, api } from './api.ts';
import { h, replace } from './dom.ts';
import {
  ACTION_TEMPLATES,
  bodyFromForm,
  emptyForm,
  type FormField,
  type FormValues,
  formFieldOf,
  formFromSchedule,
} from './form-model.ts';
import type { FieldError, Schedule } from './types.ts';
import type { Ctx, View } from './view.ts';

export function formView(main: HTMLElement, ctx: Ctx, id: string | null): View {
  let base: Schedule | null = null;
  const errorSlots = new Map<FormField | null, HTMLElement>();
  const slot = (f: FormField | null) => {
    const el = h('div', { class: 'field-error', 'data-error-for': f ?? '' });
    errorSlots.set(f, el);
    return el;
  };
  const input = (name: string, attrs: Record<string, string> = {}) =>
    h('input', { name, id: `f-${name}`, ...attrs });
  const select = (name: string, options: string[]) =>
    h('select', { name, id: `f-${name}` }, ...options.map((o) => h('option', { value: o }, o)));

  const f = {
    name: input('name', { placeholder: 'nightly-report' }),
    namespace: input('namespace', { placeholder: 'empty: your own, else default' }),
    kind: select('kind', ['cron', 'every', 'at']),
    expression: input('expression', {
      placeholder: '0 30 2 * * * · 30s · 2026-12-01T10:00:00Z',
      class: 'mono',
    }),
    timezone: input('timezone', { placeholder: 'Europe/Berlin (cron only; UTC if empty)' }),
    actionType: select('actionType', Object.keys(ACTION_TEMPLATES)),
    action: h('textarea', { name: 'action', id: 'f-action', spellcheck: 'false' }),
    concurrency: select('concurrency', ['forbid', 'allow', 'replace']),
    misfirePolicy: select('misfirePolicy', ['fireOnce', 'fireAll', 'skip']),
    graceSeconds: input('graceSeconds', { size: '6' }),
    labels: input('labels', { placeholder: 'team=a, env=prod' }),
    paused: input('paused', { type: 'checkbox' }),
    startAt: input('startAt', { placeholder: 'ISO-8601, optional' }),
    endAt: input('endAt', { placeholder: 'ISO-8601, optional' }),
    maxRuns: input('maxRuns', { placeholder: 'no limit', size: '6' }),
  };
  f.actionType.addEventListener('change', () => {
    f.action.value = JSON.stringify(ACTION_TEMPLATES[f.actionType.value], null, 2);
  });

  const fill = (v: FormValues) => {
    f.name.value = v.name;
    f.namespace.value = v.namespace;
    f.namespace.disabled = id !== null;
    f.kind.value = v.kind;
    f.expression.value = v.expression;
    f.timezone.value = v.timezone;
    f.action.value = v.action;
    try {
      f.actionType.value = (JSON.parse(v.action) as { type: string }).type;
    } catch {}
    f.concurrency.value = v.concurrency;
    f.misfirePolicy.value = v.misfirePolicy;
    f.graceSeconds.value = v.graceSeconds;
    f.labels.value = v.labels;
    f.paused.checked = v.paused;
    f.startAt.value = v.startAt;
    f.endAt.value = v.endAt;
    f.maxRuns.value = v.maxRuns;
  };
  const values = (): FormValues => ({
    name: f.name.value,
    namespace: f.namespace.value,
    kind: f.kind.value as FormValues['kind'],
    expression: f.expression.value,
    timezone: f.timezone.value,
    action: f.action.value,
    concurrency: f.concurrency.value,
    misfirePolicy: f.misfirePolicy.value,
    graceSeconds: f.graceSeconds.value,
    labels: f.labels.value,
    paused: f.paused.checked,
    startAt: f.startAt.value,
    endAt: f.endAt.value,
    maxRuns: f.maxRuns.value,
  });

  const showErrors = (errors: FieldError[]) => {
    for (const el of errorSlots.values()) el.replaceChildren();
    for (const e of errors) {
      const target = errorSlots.get(formFieldOf(e.field)) ?? errorSlots.get(null)!;
      target.append(h('div', {}, e.field ? `${e.field}: ${e.message}` : e.message));
    }
  };

  const save = h('button', { type: 'submit', class: 'primary', id: 'save' }, id ? 'Save' : 'Create');
  const form = h(
    'form',
    { class: 'form', id: 'schedule-form', novalidate: true },
    h('label', { for: 'f-name' }, 'Name'),
    h('div', {}, f.name, slot('name')),
    h('label', { for: 'f-namespace' }, 'Namespace'),
    h('div', {}, f.namespace, slot('namespace')),
    h('label', { for: 'f-expression' }, 'When'),
    h('div', {}, f.kind, ' ', f.expression, ' ', f.timezone, slot('schedule')),
    h('label', { for: 'f-action' }, 'Action'),
    h('div', {}, h('div', {}, 'template: ', f.actionType), f.action, slot('action')),
    h('label', { for: 'f-concurrency' }, 'Concurrency'),
    h('div', {}, f.concurrency, slot('concurrency')),
    h('label', { for: 'f-misfirePolicy' }, 'Missed fires'),
    h('div', {}, f.misfirePolicy, ' within ', f.graceSeconds, ' s', slot('misfire')),
    h('label', { for: 'f-labels' }, 'Labels'),
    h('div', {}, f.labels, slot('labels')),
    h('label', { for: 'f-paused' }, 'Paused'),
    h('div', {}, f.paused, slot('paused')),
    h('label', { for: 'f-startAt' }, 'Between'),
    h('div', {}, f.startAt, ' and ', f.endAt, slot('startAt'), slot('endAt')),
    h('label', { for: 'f-maxRuns' }, 'At most'),
    h('div', {}, f.maxRuns, ' runs', slot('maxRuns')),
    h('span', {}),
    h(
      'div',
      {},
      slot(null),
      h('div', { class: 'actions' }, save, h('a', { href: id ? `#/s/${id}` : '#/' }, 'Cancel')),
    ),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void (async () => {
      const { body, errors } = bodyFromForm(values(), base);
      showErrors(errors);
      if (errors.length) return;
      save.disabled = true;
      try {
        const saved =
          id && base ? await api.replaceSchedule(id, base.version, body) : await api.createSchedule(body);
        ctx.flash(id ? `Saved ${saved.name}` : `Created ${saved.name}`);
        ctx.go(`#/s/${saved.id}`);
      } catch (err) {
        if (err instanceof ApiProblem && err.errors.length) showErrors(err.errors);
        else showErrors([{ field: '', message: err instanceof Error ? err.message : String(err) }]);
        ctx.fail(err);
      } finally {
        save.disabled = false;
      }
    })();
  });

  replace(
    main,
    h('p', {}, h('a', { href: id ? `#/s/${id}` : '#/' }, '← Back')),
    h('h1', {}, id ? 'Edit schedule' : 'New schedule'),
    form,
  );
  fill(emptyForm());

  return {
    async refresh() {
      // Loaded once: a refresh must not overwrite what the user is typing.
      if (id === null || base !== null) return;
      try {
        base = await api.getSchedule(id);
        fill(formFromSchedule(base));
        ctx.ok();
      } catch (err) {
        ctx.fail(err);
      }
    },
  };
}
