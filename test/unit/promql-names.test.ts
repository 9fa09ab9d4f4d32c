import { describe, expect, it } from 'vitest';
import { metricNames, sampleNames } from '../monitoring/promql-names.ts';

describe('metricNames', () => {
  it('finds selectors with and without label matchers, not functions, labels or durations', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (namespace, le) (rate(leasecron_fire_lateness_seconds_bucket{namespace="$namespace", result=~"a|b"}[5m]))) > 1',
      ),
    ).toEqual(['leasecron_fire_lateness_seconds_bucket']);
    expect(
      metricNames(
        '(sum by (namespace) (leasecron_is_leader) < 1) or (sum by (namespace) (up{job="leasecron"}) == 0) or absent(up{job="leasecron"})',
      ),
    ).toEqual(['leasecron_is_leader', 'up']);
    expect(
      metricNames(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable, not a template
        'sum by (action) (rate(leasecron_run_attempts_sum[$__rate_interval])) / sum by (action) (rate(leasecron_run_attempts_count{namespace="${namespace}"}[1h:5m] offset 1d))',
      ),
    ).toEqual(['leasecron_run_attempts_count', 'leasecron_run_attempts_sum']);
    expect(metricNames('leasecron_mongodb_up == 0')).toEqual(['leasecron_mongodb_up']);
    expect(metricNames('max(x) * on(pod) group_left(version) leasecron_build_info')).toEqual([
      'leasecron_build_info',
      'x',
    ]);
  });
});

describe('sampleNames', () => {
  it('lists the series names of an exposition, histogram parts included', () => {
    const text = [
      '# HELP a_seconds x',
      '# TYPE a_seconds histogram',
      'a_seconds_bucket{le="1"} 0',
      'a_seconds_sum 0',
      'a_seconds_count 0',
      'b_total{x="y"} 3',
      '',
    ].join('\n');
    expect([...sampleNames(text)].sort()).toEqual([
      'a_seconds_bucket',
      'a_seconds_count',
      'a_seconds_sum',
      'b_total',
    ]);
  });
});
