// The web console in a real browser: Debian's Chromium, driven by playwright-core (which ships
// no browser and downloads none), against a real replica (leader, with API_TOKEN auth) on the
// real stack. A user enters the token, creates schedules through the form (the API's field
// errors shown under the field), sees a run appear, pauses, triggers and deletes, and looks at
// the upcoming and cluster pages. Screenshots go to .local/console/.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Db, MongoClient } from 'mongodb';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../stack/ports.ts';
import { type Replica, startReplica, stopReplica, waitForLeader, waitReady } from '../../stack/replicas.ts';
import { REPO_ROOT } from '../../stack/stack.ts';
import { createNamespace, freshDb, stack, uniqueName } from '../helpers/clients.ts';

/** scripts/provision-stack.sh installs Debian's chromium; LEASECRON_CHROMIUM names another. */
const CHROMIUM = [process.env.LEASECRON_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p): p is string => p !== undefined && p !== '' && existsSync(p),
);
if (!CHROMIUM) {
  console.error(
    '\n*** SKIPPED test/console/console.int.test.ts: no Chromium at $LEASECRON_CHROMIUM, /usr/bin/chromium or ' +
      '/usr/bin/chromium-browser. Install it with `bash scripts/provision-stack.sh chromium` (apt-get install chromium). ' +
      'The web console is NOT tested in a browser in this run. ***\n',
  );
}

const SHOTS = join(REPO_ROOT, '.local', 'console');
const LEASE = { LEASE_DURATION_SECONDS: '3', RENEW_DEADLINE_SECONDS: '2', RETRY_PERIOD_SECONDS: '0.5' };
const TOKEN = randomBytes(24).toString('hex');

let client: MongoClient;
let db: Db;
let replica: Replica | undefined;
let browser: Browser | undefined;
let base = '';

describe.skipIf(!CHROMIUM)('the web console in Chromium', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    ({ client, db } = await freshDb('console'));
    const s = stack();
    const namespace = await createNamespace('console');
    replica = startReplica(
      s,
      {
        identity: 'console-0',
        port: await freePort(),
        logFile: join(s.dir, `${uniqueName('console')}.log`),
        apiToken: TOKEN,
      },
      {
        entry: 'src/main.ts',
        env: {
          ...LEASE,
          POD_NAMESPACE: namespace,
          MONGODB_DB: db.databaseName,
          AUTH: 'token',
          API_TOKEN: TOKEN,
        },
      },
    );
    await waitReady(replica);
    await waitForLeader([replica], { timeoutMs: 30_000 });
    base = `http://127.0.0.1:${replica.port}/`;
    browser = await chromium.launch({
      executablePath: CHROMIUM!,
      // root in a container: Chromium's sandbox needs user namespaces it may not have
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (replica) await stopReplica(replica, 'SIGKILL');
    await db?.dropDatabase();
    await client?.close();
  });

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`) });

  /** Fills and saves the schedule form; returns once the schedule's own page shows it. */
  async function createThroughForm(
    page: Page,
    s: { name: string; kind: string; expression: string; timezone?: string; labels?: string },
  ): Promise<void> {
    await page.goto(`${base}#/new`);
    await page.fill('#f-name', s.name);
    await page.selectOption('#f-kind', s.kind);
    await page.fill('#f-expression', s.expression);
    await page.fill('#f-timezone', s.timezone ?? '');
    await page.fill('#f-labels', s.labels ?? '');
    await page.click('#save');
    await page.locator('h1', { hasText: s.name }).waitFor({ timeout: 10_000 });
  }

  it('asks for the token, creates and edits schedules, shows runs, pauses, triggers and deletes', {
    timeout: 180_000,
  }, async () => {
    const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
    // Every error the browser reports; HTTP errors are listed by request instead.
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    const failed = new Set<string>();
    page.on('response', (r) => {
      if (r.status() >= 400) failed.add(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
    });

    // Without a token the API answers 401: the page says what to do.
    await page.goto(base);
    await page.locator('#banner', { hasText: 'needs a bearer token' }).waitFor({ timeout: 10_000 });
    await page.fill('#token', TOKEN);
    await page.click('#token-form button[type=submit]');
    await page.locator('#schedules tbody', { hasText: 'No schedules match.' }).waitFor({ timeout: 10_000 });

    // What the form cannot send is refused before it is sent; the API's validation is shown
    // under the field it names.
    await page.goto(`${base}#/new`);
    await page.fill('#f-name', 'every-two');
    await page.selectOption('#f-kind', 'cron');
    await page.fill('#f-expression', '61 * * * *');
    await page.fill('#f-labels', 'team');
    await page.click('#save');
    await page.locator('[data-error-for="labels"]', { hasText: 'not key=value' }).waitFor();
    await page.fill('#f-labels', 'team=console');
    await page.click('#save');
    const cronError = page.locator('[data-error-for="schedule"]', { hasText: 'schedule.cron' });
    await cronError.waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-error-for="labels"]').textContent()).toBe('');
    await shot(page, 'form-errors');

    const every = uniqueName('every-two');
    await createThroughForm(page, { name: every, kind: 'every', expression: '2s', labels: 'team=console' });
    const everyUrl = page.url();
    // Runs appear without reloading the page, and the lateness chart draws them.
    await page.locator('#runs tbody tr', { hasText: 'succeeded' }).nth(2).waitFor({ timeout: 30_000 });
    await page.locator('#lateness-chart circle').nth(2).waitFor();
    const firstRun = await page.locator('#runs tbody tr').first().textContent();
    expect(firstRun).toContain('schedule'); // trigger
    expect(firstRun).toContain('console-0'); // leader

    const nightly = uniqueName('nightly');
    await createThroughForm(page, {
      name: nightly,
      kind: 'cron',
      expression: '0 30 2 * * *',
      timezone: 'Europe/Berlin',
      labels: 'team=reports',
    });

    // Edit (a PUT with If-Match): the form loads the schedule, the page shows the change.
    await page.click('[data-action=edit]');
    await expect.poll(() => page.inputValue('#f-expression'), { timeout: 10_000 }).toBe('0 30 2 * * *');
    expect(await page.locator('#f-namespace').isDisabled()).toBe(true);
    await page.fill('#f-expression', '0 45 2 * * *');
    await page.click('#save');
    await page.locator('dd[data-field=expression]', { hasText: '0 45 2 * * *' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('dd[data-field=version]').textContent()).toBe('2');

    // Pause, then trigger (with confirmation): the manual run appears.
    await page.goto(everyUrl);
    await page.click('[data-action=pause]');
    await page.locator('dd[data-field=state]', { hasText: 'paused' }).waitFor({ timeout: 10_000 });
    await page.click('[data-action=trigger]');
    await page.click('[data-confirm=yes]');
    await page
      .locator('#runs tbody tr', { hasText: 'manual' })
      .filter({ hasText: 'succeeded' })
      .first()
      .waitFor({ timeout: 30_000 });
    await shot(page, 'schedule');

    // The table: both schedules, then filtered by label and by text.
    await page.goto(base);
    const rows = page.locator('#schedules tbody tr');
    await page.locator(`#schedules tr[data-name="${nightly}"]`).waitFor({ timeout: 10_000 });
    expect(await rows.count()).toBe(2);
    const everyRow = await page.locator(`#schedules tr[data-name="${every}"]`).textContent();
    expect(everyRow).toMatch(/every\s*2s/);
    expect(everyRow).toContain('paused');
    expect(everyRow).toContain('succeeded');
    expect(await page.locator(`#schedules tr[data-name="${nightly}"]`).textContent()).toContain(
      'Europe/Berlin',
    );
    await shot(page, 'schedules');
    await page.fill('#filter-label', 'team=reports');
    await page.locator('#filter-label').dispatchEvent('change');
    await page.locator(`#schedules tr[data-name="${every}"]`).waitFor({ state: 'detached', timeout: 10_000 });
    expect(await rows.count()).toBe(1);
    await page.fill('#filter-label', '');
    await page.locator('#filter-label').dispatchEvent('change');
    await page.fill('#filter-text', 'every-two');
    await page
      .locator(`#schedules tr[data-name="${nightly}"]`)
      .waitFor({ state: 'detached', timeout: 10_000 });

    // Upcoming: the cron schedule's next fires (02:30 in Berlin), the paused one absent.
    await page.goto(`${base}#/upcoming`);
    await page.selectOption('#upcoming-horizon', String(7 * 86_400_000));
    await page.locator('#upcoming tbody tr', { hasText: nightly }).nth(2).waitFor({ timeout: 10_000 });
    expect(await page.locator('#upcoming tbody').textContent()).not.toContain(every);
    await page.locator('#upcoming-axis circle').first().waitFor();
    await shot(page, 'upcoming');

    // Cluster: this replica leads.
    await page.goto(`${base}#/cluster`);
    await page.locator('[data-card=leader]', { hasText: 'console-0' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-card=auth]').textContent()).toContain('token');
    await shot(page, 'cluster');

    // Delete, confirmed: back to the list without it.
    await page.goto(everyUrl);
    await page.click('[data-action=delete]');
    await page.click('[data-confirm=yes]');
    await page.locator(`#schedules tr[data-name="${nightly}"]`).waitFor({ timeout: 10_000 });
    expect(await page.locator(`#schedules tr[data-name="${every}"]`).count()).toBe(0);

    // The strict CSP held: no blocked script, style or connection, no script error.
    // HTTP errors were the ones the user was shown (no token yet, an invalid schedule).
    expect(problems).toEqual([]);
    expect([...failed].sort()).toEqual(['400 POST /api/v1/schedules', '401 GET /api/v1/schedules']);
    await page.close();
  });
});
