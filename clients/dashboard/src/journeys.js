// The dashboard's journeys section (docs/dashboard.md#journeys): paths of
// converters against non-converters, the steps that set them apart, the
// largest drop-off with its worst segments, time to convert, and the
// experiment queue ranked two ways. Uses app.js's helpers; loaded after it.
'use strict';

const TOP_PATHS = 10;
const TOP_DIFFERENCES = 8;
const TOP_SEGMENTS = 5;
const BUCKETS = [['under_1_minute', '< 1 min'], ['under_1_hour', '1 min – 1 h'], ['under_1_day', '1 h – 1 day'],
  ['under_1_week', '1 day – 1 week'], ['over_1_week', '≥ 1 week']];

const interval = (low, high, format) => (low === null ? '–' : `${format(low)} to ${format(high)}`);
const pattern = (r) => (r.kind === 'pair' ? `${r.first_event} → ${r.second_event}` : r.first_event);

function pathTables(paths) {
  const listed = paths.rows.filter((r) => r.path !== '(other)');
  const converters = paths.rows.reduce((n, r) => n + Number(r.converters), 0);
  const others = paths.rows.reduce((n, r) => n + Number(r.non_converters), 0);
  const side = (key, rank, total, caption, count) => table(caption, [
    ['path', (r) => r.path, 'text path'],
    [count, (r) => fmt.int(r[key])],
    ['share', (r) => fmt.pct(r[key] / (total || NaN))],
    ['conversion', (r) => fmt.pct(r.conversion_rate)],
    ['profit 90d', (r) => fmt.money(r.mean_gross_profit_90d)],
  ], listed.filter((r) => r[rank] !== null).sort((a, b) => a[rank] - b[rank]).slice(0, TOP_PATHS));
  return element('div', { className: 'side-by-side' },
    side('converters', 'converter_rank', converters, 'Top paths of converters', 'converters'),
    side('non_converters', 'non_converter_rank', others, 'Top paths of non-converters', 'non-converters'));
}

// Steps and orders of steps credibly more common among converters, but for
// the funnels' own steps among themselves: every buyer checks out.
function differenceTable(comparison) {
  const telling = comparison.rows.filter((r) => r.difference_low !== null && Number(r.difference_low) > 0 && !r.funnel_steps_only)
    .sort((a, b) => b.difference - a.difference).slice(0, TOP_DIFFERENCES);
  if (telling.length === 0) return empty('No step or order of steps is credibly more common among converters.');
  return table('Steps more common among converters', [
    ['step or order', pattern, 'text'],
    ['converters', (r) => fmt.pct(r.share_of_converters)],
    ['non-converters', (r) => fmt.pct(r.share_of_non_converters)],
    ['difference', (r) => fmt.points(r.difference)],
    ['95% interval', (r) => interval(r.difference_low, r.difference_high, fmt.points)],
    ['conversion with / without', (r) => `${fmt.pct(r.conversion_rate_with)} / ${fmt.pct(r.conversion_rate_without)}`],
    ['reverse order converts', (r) => (r.kind === 'pair' ? fmt.pct(r.conversion_rate_reversed) : '')],
  ], telling);
}

function dropOffParts(dropOff) {
  const parts = [];
  for (const largest of dropOff.rows.filter((r) => r.dimension === 'all' && r.largest)) {
    parts.push(element('p', { className: 'largest-drop' }, element('strong', {}, `${largest.event_name} → ${largest.next_event_name}`),
      ` loses ${fmt.pct(largest.loss)} of ${fmt.int(largest.reached)} persons (${interval(largest.loss_low, largest.loss_high, fmt.pct)}), `,
      `the largest drop-off of funnel ${largest.funnel}.`));
    const segments = dropOff.rows.filter((r) => r.funnel === largest.funnel && r.step === largest.step && r.dimension !== 'all'
      && r.worst_rank <= TOP_SEGMENTS);
    if (segments.length > 0) {
      parts.push(table(`Where it is worst: ${largest.event_name} → ${largest.next_event_name}`, [
        ['segment', (r) => `${r.dimension}: ${r.segment}`, 'text'],
        ['persons', (r) => fmt.int(r.reached)],
        ['loss', (r) => fmt.pct(r.loss)],
        ['95% interval', (r) => interval(r.loss_low, r.loss_high, fmt.pct)],
        ['against everyone', (r) => fmt.points(r.loss - r.loss_of_all)],
      ], segments, (r) => (r.worse_than_all ? 'warn' : '')));
    }
  }
  return parts.length ? parts : [empty('Nobody in these persons reached a funnel step.')];
}

function timeToConvert(times) {
  const rows = times.rows;
  chart('journeys-chart', {
    legend: { top: 0 },
    grid: { left: 170, right: 24, top: 32, bottom: 28 },
    xAxis: { type: 'value', name: 'persons', max: 1, axisLabel: { formatter: (v) => `${Math.round(v * 100)}%` } },
    yAxis: { type: 'category', data: rows.map((r) => r.event_name).reverse() },
    series: BUCKETS.map(([key, name]) => ({ name, type: 'bar', stack: 'time',
      data: [...rows].reverse().map((r) => Number(r[key]) / Number(r.persons)) })),
  });
  if (rows.length === 0) return empty('No micro-conversions for these persons.');
  return table('Time to convert, from first touch', [
    ['micro-conversion', (r) => r.event_name],
    ['persons', (r) => fmt.int(r.persons)],
    ['median', (r) => fmt.duration(r.median_seconds_from_first_touch)],
    ['75th percentile', (r) => fmt.duration(r.p75_seconds_from_first_touch)],
    ['median in its session', (r) => fmt.duration(r.median_seconds_from_session_start)],
    ['75th percentile in its session', (r) => fmt.duration(r.p75_seconds_from_session_start)],
  ], rows);
}

function experimentQueue(priorities) {
  if (priorities.rows.length === 0) {
    return [empty('No candidate experiments: add them to models.experiment_candidates.')];
  }
  const parts = [table('Experiment queue, by value', [
    ['experiment', (r) => r.name, 'text'],
    ['target', (r) => r.target_event, 'text'],
    ['lift', (r) => fmt.pct(r.expected_lift)],
    ['confidence', (r) => fmt.int(r.confidence)],
    ['ease', (r) => fmt.int(r.ease)],
    ['per week', (r) => fmt.money(r.occurrences_per_week)],
    ['value each', (r) => (r.value_per_occurrence === null ? '–'
      : `${fmt.money(r.value_per_occurrence)} (${r.value_source === 'uplift_90d_gross_profit' ? 'uplift' : 'expected revenue'})`)],
    ['value a week', (r) => fmt.money(r.value_per_week)],
    ['value rank', (r) => fmt.int(r.value_rank)],
    ['ICE score', (r) => Number(r.ice_score).toFixed(1)],
    ['ICE rank', (r) => fmt.int(r.ice_rank)],
  ], priorities.rows)];
  if (state.segment !== 'all' || state.from || state.to) {
    parts.push(empty('The queue is the shop’s: it shows the same for every filter.'));
  }
  return parts;
}

panels.journeys = async (section) => {
  // Nothing of the previous filter stays if this one fails.
  section.querySelector('.times').replaceChildren();
  section.querySelector('.queue').replaceChildren();
  charts.get('journeys-chart')?.clear();
  const [paths, comparison, dropOff, times, priorities] = await Promise.all(
    ['paths', 'path_comparison', 'drop_off', 'time_to_convert', 'experiment_priorities'].map((name) => api(name)));
  source(section, [paths, comparison, dropOff, times, priorities]);
  section.querySelector('.body').replaceChildren(
    element('h3', {}, 'Paths'),
    paths.rows.length ? pathTables(paths) : empty('No person with a complete path window.'),
    differenceTable(comparison),
    element('h3', {}, 'Drop-off'),
    ...dropOffParts(dropOff));
  section.querySelector('.times').replaceChildren(timeToConvert(times));
  section.querySelector('.queue').replaceChildren(...experimentQueue(priorities));
};
