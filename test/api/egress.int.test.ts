// Issue 11, safe http actions, at the API: a schedule whose webhook host is an IP literal the
// egress policy refuses (cloud metadata, loopback, …) is invalid input — 400 problem+json naming
// action.url, nothing written — on POST, PUT and PATCH alike; HTTP_ALLOW_CIDRS (config.egress)
// lets an operator allow an address, and an explicit deny still wins.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuth } from '../../src/auth/api-auth.ts';
import { cidrs } from '../../src/egress/cidr.ts';
import { createEgressPolicy } from '../../src/egress/policy.ts';
import { BODY_LIMIT, fingerprint, type Harness, harness, PROBLEM, send, validBody } from './api-harness.ts';

let h: Harness;
let allowing: Harness;
beforeAll(async () => {
  h = await harness({ prefix: 'api_egress' });
  allowing = await harness({
    prefix: 'api_egress_allow',
    overrides: {
      auth: openAuth(),
      config: {
        bodyLimitBytes: BODY_LIMIT,
        egress: createEgressPolicy({ allow: cidrs('127.0.0.1/32'), deny: cidrs('10.0.0.0/8') }),
      },
    },
  });
});
afterAll(async () => {
  await h?.close();
  await allowing?.close();
});

const webhook = (name: string, url: string) => validBody(name, { action: { type: 'http', url } });

async function expectRefused(
  r: Awaited<ReturnType<typeof send>>,
  db: Harness['db'],
  before: Awaited<ReturnType<typeof fingerprint>>,
  why: RegExp,
) {
  expect(r.status, r.text).toBe(400);
  expect(r.headers.get('content-type')).toBe(PROBLEM);
  expect(r.body).toMatchObject({ status: 400, title: expect.any(String) });
  expect(r.body.errors).toEqual([{ field: 'action.url', message: expect.stringMatching(why) }]);
  expect(await fingerprint(db)).toEqual(before);
}

describe('POST with a refused webhook host', () => {
  it.each([
    [
      'the cloud metadata address',
      'http://169.254.169.254/latest/meta-data/',
      /169\.254\.169\.254 is link-local/,
    ],
    ['it as IPv4-mapped IPv6', 'http://[::ffff:169.254.169.254]/', /169\.254\.169\.254 is link-local/],
    ['loopback', 'http://127.0.0.1:9999/hook', /127\.0\.0\.1 is loopback/],
    ['loopback as one number', 'http://2130706433/', /127\.0\.0\.1 is loopback/],
    ['IPv6 loopback', 'http://[::1]:8080/', /::1 is loopback/],
    ['the unspecified address', 'http://0.0.0.0:8080/', /0\.0\.0\.0 is unspecified/],
  ])('%s: 400 naming action.url, nothing written', async (_what, url, why) => {
    const before = await fingerprint(h.db);
    const r = await send(h.app, 'POST', '/api/v1/schedules', { body: webhook('hook', url) });
    await expectRefused(r, h.db, before, why);
  });

  it('lists the refusal beside the other bad fields', async () => {
    const r = await send(h.app, 'POST', '/api/v1/schedules', {
      body: { ...webhook('hook', 'http://169.254.169.254/'), schedule: { every: '0s' } },
    });
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'action.url',
      'schedule.every',
    ]);
  });

  it('accepts a name: it is judged after resolution, when the action runs', async () => {
    const r = await send(h.app, 'POST', '/api/v1/schedules', {
      body: webhook('by-name', 'http://localhost:9999/'),
    });
    expect(r.status, r.text).toBe(201);
  });
});

describe('PUT and PATCH cannot point a schedule at a refused host either', () => {
  it('PUT → 400 naming action.url; the stored schedule is unchanged', async () => {
    const created = await send(h.app, 'POST', '/api/v1/schedules', {
      body: webhook('put-target', 'http://reports.svc/run'),
    });
    expect(created.status).toBe(201);
    const before = await fingerprint(h.db);
    const r = await send(h.app, 'PUT', `/api/v1/schedules/${created.body.id}`, {
      body: webhook('put-target', 'http://169.254.169.254/latest/meta-data/iam/'),
    });
    await expectRefused(r, h.db, before, /link-local/);
  });

  it('PATCH → 400 naming action.url; the stored schedule is unchanged', async () => {
    const created = await send(h.app, 'POST', '/api/v1/schedules', {
      body: webhook('patch-target', 'http://reports.svc/run'),
    });
    expect(created.status).toBe(201);
    const before = await fingerprint(h.db);
    const r = await send(h.app, 'PATCH', `/api/v1/schedules/${created.body.id}`, {
      body: JSON.stringify({ action: { url: 'http://[::1]/' } }),
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    await expectRefused(r, h.db, before, /::1 is loopback/);
  });
});

describe('the operator’s policy (HTTP_ALLOW_CIDRS / HTTP_DENY_CIDRS as config.egress)', () => {
  it('an allowed address is accepted', async () => {
    const r = await send(allowing.app, 'POST', '/api/v1/schedules', {
      body: webhook('allowed', 'http://127.0.0.1:9999/hook'),
    });
    expect(r.status, r.text).toBe(201);
    expect(r.body.action.url).toBe('http://127.0.0.1:9999/hook');
  });

  it('what is not allowed stays refused, and an explicit deny refuses an address no built-in does', async () => {
    const before = await fingerprint(allowing.db);
    await expectRefused(
      await send(allowing.app, 'POST', '/api/v1/schedules', {
        body: webhook('metadata', 'http://169.254.169.254/'),
      }),
      allowing.db,
      before,
      /link-local/,
    );
    await expectRefused(
      await send(allowing.app, 'POST', '/api/v1/schedules', {
        body: webhook('internal', 'http://10.1.2.3/hook'),
      }),
      allowing.db,
      before,
      /10\.1\.2\.3 is in HTTP_DENY_CIDRS \(10\.0\.0\.0\/8\)/,
    );
  });
});
