// Who leads: the Lease as the replica serving this page sees it, and the leaders this tab has
// seen since it opened (the API reports one replica's view; it has no list of replicas).
import { api } from './api.ts';
import { h, replace } from './dom.ts';
import { localTime, relative } from './format.ts';
import type { Cluster } from './types.ts';
import type { Ctx, View } from './view.ts';

/** Leaders seen while the console is open, newest first; kept across visits to this page. */
const seen: { at: Date; leader: string | null; transitions: number | null }[] = [];

export function clusterView(main: HTMLElement, ctx: Ctx): View {
  const cards = h('div', { class: 'cards', id: 'cluster' });
  const history = h('tbody');
  const warning = h('p', { class: 'field-error' });
  replace(
    main,
    h('h1', {}, 'Cluster'),
    warning,
    cards,
    h('h2', {}, 'Leaders seen from this tab'),
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, ...['Since', 'Leader', 'Lease transitions'].map((t) => h('th', {}, t)))),
      history,
    ),
  );
  const card = (label: string, value: string, id: string) =>
    h('div', { class: 'card', 'data-card': id }, h('b', {}, label), h('span', {}, value));

  return {
    async refresh() {
      try {
        const c: Cluster = await api.cluster();
        const now = new Date();
        const last = seen[0];
        if (!last || last.leader !== c.leader || last.transitions !== c.leaseTransitions)
          seen.unshift({ at: now, leader: c.leader, transitions: c.leaseTransitions });
        seen.length = Math.min(seen.length, 50);
        warning.textContent = c.auth.warning ?? '';
        replace(
          cards,
          card('Lease holder (leader)', c.leader ?? 'nobody', 'leader'),
          card('This replica', `${c.identity} (${c.role})`, 'replica'),
          card('Lease transitions', String(c.leaseTransitions ?? '—'), 'transitions'),
          card(
            'Renewed',
            c.renewTime ? `${localTime(c.renewTime)} (${relative(c.renewTime, now)})` : '—',
            'renew',
          ),
          card('Acquired', localTime(c.acquireTime), 'acquire'),
          card('Lease', `${c.namespace}/${c.leaseName}`, 'lease'),
          card('Authentication', c.auth.mode, 'auth'),
        );
        replace(
          history,
          seen.map((s) =>
            h(
              'tr',
              {},
              h('td', {}, localTime(s.at.toISOString())),
              h('td', {}, s.leader ?? 'nobody'),
              h('td', {}, String(s.transitions ?? '—')),
            ),
          ),
        );
        ctx.ok();
      } catch (err) {
        ctx.fail(err);
      }
    },
  };
}
