import { describe, expect, it } from 'vitest';
import { defaultNamespaceOf, describeAttributes, type Principal, scheduleAttributes } from './principal.ts';

const user = (username: string): Principal => ({ username, groups: [], superuser: false });

describe('defaultNamespaceOf', () => {
  it('is the namespace of a ServiceAccount', () => {
    expect(defaultNamespaceOf(user('system:serviceaccount:team-a:ci'))).toBe('team-a');
  });
  it('is default for any other user', () => {
    expect(defaultNamespaceOf(user('alice@example.com'))).toBe('default');
    expect(defaultNamespaceOf(user('system:serviceaccount:'))).toBe('default');
  });
});

describe('describeAttributes', () => {
  it('names verb, resource, group, name and namespace', () => {
    expect(describeAttributes(scheduleAttributes('create', 'a'))).toBe(
      "create schedules.leasecron.io in namespace 'a'",
    );
    expect(describeAttributes(scheduleAttributes('get', 'b', { name: 'n', subresource: 'runs' }))).toBe(
      "get schedules/runs.leasecron.io 'n' in namespace 'b'",
    );
    expect(describeAttributes({ verb: 'create', group: 'batch', resource: 'jobs', namespace: 'a' })).toBe(
      "create jobs.batch in namespace 'a'",
    );
    expect(describeAttributes({ verb: 'list', group: '', resource: 'serviceaccounts', namespace: '' })).toBe(
      'list serviceaccounts in all namespaces',
    );
  });
});
