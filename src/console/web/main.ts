// The console's entry: hash routes, the token box, the status banner and live refresh (polling
// every few seconds while the tab is visible; no reloads).
import { ApiProblem, getToken, setToken } from './api.ts';
import { clusterView } from './cluster-view.ts';
import { formView } from './form-view.ts';
import { scheduleView } from './schedule-view.ts';
import { schedulesView } from './schedules-view.ts';
import { upcomingView } from './upcoming-view.ts';
import { type Ctx, describeError, type View } from './view.ts';

const REFRESH_MS = 3000;

const main = document.getElementById('main')!;
const banner = document.getElementById('banner')!;
const live = document.getElementById('live')!;
const tokenInput = document.getElementById('token') as HTMLInputElement;

let flashUntil = 0;
const showBanner = (text: string, error: boolean) => {
  banner.textContent = text;
  banner.classList.toggle('err', error);
  banner.hidden = false;
};

const ctx: Ctx = {
  go(hash) {
    if (location.hash === hash) void route();
    else location.hash = hash;
  },
  fail(err) {
    if (err instanceof ApiProblem && err.status === 401) {
      showBanner(
        getToken()
          ? 'The API refused this token (401). Enter another one above.'
          : 'This API needs a bearer token: enter it above (it stays in this browser tab only).',
        true,
      );
      tokenInput.focus();
    } else {
      showBanner(describeError(err), true);
    }
    live.textContent = `update failed at ${new Date().toLocaleTimeString()}`;
  },
  ok() {
    if (Date.now() > flashUntil) banner.hidden = true;
    live.textContent = `live · updated ${new Date().toLocaleTimeString()} · every ${REFRESH_MS / 1000} s`;
  },
  flash(message) {
    flashUntil = Date.now() + 4000;
    showBanner(message, false);
  },
};

let view: View | null = null;
/** The refresh under way, so a slow API gets no second request stacked on the first. */
let refreshing: Promise<void> | null = null;
const refresh = (): void => {
  if (!view || refreshing) return;
  refreshing = view.refresh().finally(() => {
    refreshing = null;
  });
};

async function route(): Promise<void> {
  const hash = location.hash || '#/';
  const parts = hash.slice(2).split('/');
  const section = parts[0] === 's' || parts[0] === 'new' || parts[0] === '' ? 'schedules' : parts[0]!;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a[data-nav]'))
    a.classList.toggle('on', a.dataset.nav === section);
  if (parts[0] === 'upcoming') view = upcomingView(main, ctx);
  else if (parts[0] === 'cluster') view = clusterView(main, ctx);
  else if (parts[0] === 'new') view = formView(main, ctx, null);
  else if (parts[0] === 's' && parts[1] && parts[2] === 'edit') view = formView(main, ctx, parts[1]);
  else if (parts[0] === 's' && parts[1]) view = scheduleView(main, ctx, parts[1]);
  else view = schedulesView(main, ctx);
  await view.refresh();
}

tokenInput.value = getToken();
document.getElementById('token-form')!.addEventListener('submit', (ev) => {
  ev.preventDefault();
  setToken(tokenInput.value.trim());
  ctx.flash(tokenInput.value.trim() ? 'Token set for this tab.' : 'No token.');
  void view?.refresh();
});
document.getElementById('token-clear')!.addEventListener('click', () => {
  tokenInput.value = '';
  setToken('');
  ctx.flash('Token forgotten.');
  void view?.refresh();
});

window.addEventListener('hashchange', () => void route());
setInterval(() => {
  if (document.visibilityState === 'visible') refresh();
}, REFRESH_MS);
void route();
