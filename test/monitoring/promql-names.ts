// The metric names a PromQL expression selects, for checking dashboards and alert rules against
// what /metrics really exposes. Not a PromQL parser: it removes what cannot be a metric name
// (strings, label matchers, ranges, grouping label lists, Grafana variables, numbers and
// durations, keywords and function names) and keeps the identifiers left.

const KEYWORDS = new Set([
  // aggregation operators and modifiers
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'and',
  'or',
  'unless',
  'atan2',
  // literals
  'inf',
  'nan',
]);

/** Metric names selected by `expr` (sorted, unique). */
export function metricNames(expr: string): string[] {
  let s = expr;
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""'); // string literals
  s = s.replace(/\$\{[^}]*\}|\$\w+/g, ' '); // Grafana variables: $__rate_interval, ${datasource}
  s = s.replace(/\{[^}]*\}/g, ' '); // label matchers
  s = s.replace(/\[[^\]]*\]/g, ' '); // ranges and subqueries
  // grouping and matching label lists: by (a, b), without(a), on(a), ignoring(a), group_left(a)
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    const before = s.slice(0, m.index);
    const after = s.slice(m.index + word.length);
    if (/[0-9.]$/.test(before)) continue; // the unit of a number or duration: 5m, 1e3
    if (/^\s*\(/.test(after)) continue; // a function or an aggregation: rate(, sum(
    if (KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names].sort();
}

/**
 * The sample names a Prometheus text exposition holds (histograms as their _bucket, _sum and
 * _count series, which is how PromQL selects them).
 */
export function sampleNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line);
    if (m) names.add(m[0]);
  }
  return names;
}
