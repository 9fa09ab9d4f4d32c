import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVER, parseArgs, UsageError } from './args.ts';

describe('parseArgs', () => {
  it.each([
    [['schedules', 'list'], { kind: 'schedules', verb: 'list' }],
    [['sc', 'ls'], { kind: 'schedules', verb: 'list' }],
    [['schedules', 'get'], { kind: 'schedules', verb: 'list' }],
    [['schedules', 'get', 'nightly'], { kind: 'schedules', verb: 'get', ref: 'nightly' }],
    [['schedule', 'delete', 'x'], { kind: 'schedules', verb: 'delete', ref: 'x' }],
    [['schedules', 'apply', '-f', 'a.yaml'], { kind: 'schedules', verb: 'apply', file: 'a.yaml' }],
    [['schedules', 'create', '--filename=-'], { kind: 'schedules', verb: 'create', file: '-' }],
    [['runs', 'demo'], { kind: 'runs', ref: 'demo', watch: false, limit: 20 }],
    [['runs', '-w', 'demo', '--limit', '5'], { kind: 'runs', ref: 'demo', watch: true, limit: 5 }],
    [['cluster'], { kind: 'cluster' }],
    [[], { kind: 'help' }],
    [['help', 'runs'], { kind: 'help', topic: 'runs' }],
    [['schedules', 'list', '--help'], { kind: 'help', topic: 'schedules' }],
  ])('%j → %j', (argv, command) => {
    expect(parseArgs(argv).command).toEqual(command);
  });

  it('takes flags anywhere, the last of a repeated value flag, and every -l', () => {
    const { command, options } = parseArgs([
      '-n',
      'a',
      'schedules',
      '-o',
      'yaml',
      'list',
      '--namespace=b',
      '-l',
      'team=x',
      '-l',
      'tier=1',
      '-A',
    ]);
    expect(command).toEqual({ kind: 'schedules', verb: 'list' });
    expect(options).toMatchObject({
      namespace: 'b',
      output: 'yaml',
      labels: ['team=x', 'tier=1'],
      allNamespaces: true,
    });
  });

  it('falls back to the environment, then to the defaults; flags win', () => {
    expect(parseArgs(['cluster']).options).toMatchObject({
      server: DEFAULT_SERVER,
      token: undefined,
      namespace: 'default',
      output: 'table',
      timeoutMs: 10_000,
      intervalMs: 2000,
    });
    const env = { LEASECRON_SERVER: 'http://lc:8080/', LEASECRON_TOKEN: 't', LEASECRON_NAMESPACE: 'ns' };
    expect(parseArgs(['cluster'], env).options).toMatchObject({
      server: 'http://lc:8080',
      token: 't',
      namespace: 'ns',
    });
    expect(
      parseArgs(['cluster', '--server', 'https://x', '--token', 'u', '-n', 'm'], env).options,
    ).toMatchObject({ server: 'https://x', token: 'u', namespace: 'm' });
    // an empty LEASECRON_TOKEN (a Makefile's unset variable) is no token
    expect(parseArgs(['cluster'], { LEASECRON_TOKEN: '' }).options.token).toBeUndefined();
  });

  it.each([
    [['frob'], "unknown command 'frob'"],
    [['schedules'], 'schedules needs a verb'],
    [['schedules', 'explode', 'x'], "unknown verb 'explode'"],
    [['schedules', 'get', 'a', 'b'], 'takes one name or id, got 2'],
    [['schedules', 'delete'], 'needs a schedule name or id'],
    [['schedules', 'create'], 'needs -f FILE'],
    [['schedules', 'list', 'extra'], "unexpected argument 'extra'"],
    [['runs'], 'runs needs a schedule name or id'],
    [['runs', 'x', '--limit', '0'], '--limit must be an integer from 1 to 500'],
    [['cluster', '-o', 'xml'], '-o must be json, yaml or wide'],
    [['cluster', '-n'], 'flag -n needs a value'],
    [['cluster', '--bogus'], 'unknown flag --bogus'],
    [['cluster', '--server', 'localhost:8080'], '--server must be an http:// or https:// URL'],
    [['schedules', 'list', '-l', 'novalue'], "-l wants key=value, got 'novalue'"],
    [['runs', 'x', '--interval', '-1'], '--interval wants seconds'],
  ])('%j is a usage error: %s', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});
