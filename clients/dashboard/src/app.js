// The Funnelhouse dashboard: reads the server's /api/dashboard endpoints
// (docs/dashboard.md) and draws them with Apache ECharts. Every value from
// the data goes into the page as text, never as markup.
'use strict';

const state = { from: '', to: '', segment: 'all', token: sessionStorage.getItem('funnelhouse.token') || '' };
const charts = new Map();
let generation = 0;

// Formatting, the same everywhere (the browser test reads these strings).
const fmt = {
  int: (x) => (x === null || x === undefined ? '–' : String(Math.round(Number(x)))),
  money: (x) => (x === null || x === undefined ? '–' : Number(x).toFixed(2)),
  pct: (x) => (x === null || x === undefined ? '–' : `${(Number(x) * 100).toFixed(1)}%`),
  points: (x) => (x === null || x === undefined ? '–' : `${x >= 0 ? '+' : ''}${(Number(x) * 100).toFixed(1)}`),
  duration: (seconds) => {
    if (seconds === null || seconds === undefined) return '–';
    const s = Number(seconds);
    if (s < 120) return `${Math.round(s)} s`;
    if (s < 7200) return `${(s / 60).toFixed(1)} min`;
    if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
    return `${(s / 86400).toFixed(1)} d`;
  },
};

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'className') node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

// A table: columns are [heading, (row) => text, className?].
function table(caption, columns, rows, rowClass) {
  const head = element('tr', {}, ...columns.map(([title, , cls]) => element('th', cls ? { className: cls } : {}, title)));
  const body = rows.map((row) => {
    const tr = element('tr', rowClass ? { className: rowClass(row) || '' } : {},
      ...columns.map(([, cell, cls]) => element('td', cls ? { className: cls } : {}, cell(row))));
    return tr;
  });
  return element('table', {}, element('caption', {}, caption), element('thead', {}, head), element('tbody', {}, ...body));
}

class Unauthorized extends Error {}
// An answer for filters that are no longer the page's: dropped.
class Stale extends Error {}

async function api(name, extra = {}) {
  const query = new URLSearchParams();
  if (state.from) query.set('from', state.from);
  if (state.to) query.set('to', state.to);
  if (state.segment !== 'all') query.set('segment', state.segment);
  for (const [key, value] of Object.entries(extra)) query.set(key, value);
  const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
  const asked = generation;
  const response = await fetch(`/api/dashboard/${name}?${query}`, { headers });
  if (response.status === 401) throw new Unauthorized();
  const body = await response.json();
  if (asked !== generation) throw new Stale();
  if (!response.ok) throw new Error(`${body.error}: ${body.message}`);
  return body;
}

// "Reads models.x · definition", from the answer itself.
function source(section, answers) {
  const line = section.querySelector('.source');
  line.replaceChildren();
  const models = [...new Set(answers.map((a) => a.model))];
  line.append('Reads ', ...models.flatMap((m, i) => [i ? ', ' : '', element('code', {}, m)]));
  const docs = answers[0].docs.replace(/^docs\/(\w+)\.md/, '/dashboard/docs/$1.html');
  line.append(' · ', element('a', { href: docs }, 'definition'));
  const filter = answers[0].filter;
  line.append(` · ${filter.from || 'start'} to ${filter.to || 'now'}, ${filter.segment === 'all' ? 'everyone' : filter.segment}`);
}

function chart(id, option) {
  const node = document.getElementById(id);
  let instance = charts.get(id);
  if (!instance) {
    instance = echarts.init(node, null, { renderer: 'svg' });
    charts.set(id, instance);
  }
  instance.setOption({ animation: false, tooltip: { renderMode: 'richText' }, ...option }, true);
}

function empty(text) { return element('p', { className: 'empty' }, text); }

// Panels: each fetches its endpoints and fills its section.
const panels = {
  async alerts(section) {
    const [raised, alerts] = await Promise.all([api('alert_history'), api('alerts')]);
    source(section, [raised, alerts]);
    const body = section.querySelector('.body');
    // The alerts people were sent, with their likely cause (docs/alerts.md).
    const problems = raised.rows.map((a) => element('li', { className: `raised ${a.state}` },
      element('strong', {}, a.subject), ` (${a.subject_type}) ${a.state === 'open' ? `open since ${a.since}` : `resolved, ${a.since} to ${a.last_day}`}: `,
      a.summary, '. ', element('em', {}, `Likely cause: ${a.likely_cause}`)));
    const items = alerts.rows.slice(0, 50).map((a) => element('li', { className: `alert ${a.kind}` },
      element('strong', {}, a.event_name), ` on ${a.day}: `,
      a.kind === 'volume_drop'
        ? `${fmt.int(a.events)} events, ${fmt.pct(a.volume_ratio)} of the trailing 7-day mean (${fmt.money(a.trailing_7d_mean)})`
        : `rejection rate ${fmt.pct(a.rejection_rate)} (${fmt.int(a.rejected)} rejected)${state.segment === 'all' ? '' : ', all traffic'}`));
    body.replaceChildren(
      problems.length ? element('ul', { className: 'raised-list' }, ...problems)
        : element('p', { className: 'no-raised' }, 'No alert raised in the range.'),
      items.length ? element('ul', { className: 'alert-list' }, ...items)
        : element('p', { className: 'no-alerts' }, 'No day over the tracking rules: volume and rejections are within bounds.'));
  },

  async tracking(section) {
    const [volume, tracking, rejections] = await Promise.all([api('volume'), api('tracking'), api('rejections')]);
    source(section, [tracking]);
    const days = [...new Set(volume.rows.map((r) => r.day))];
    const names = tracking.rows.slice(0, 8).map((r) => r.event_name);
    const byKey = new Map(volume.rows.map((r) => [`${r.event_name}|${r.day}`, r.events]));
    chart('volume-chart', {
      legend: { type: 'scroll', top: 0 },
      grid: { left: 48, right: 16, top: 32, bottom: 28 },
      xAxis: { type: 'category', data: days },
      yAxis: { type: 'value', name: 'events' },
      tooltip: { trigger: 'axis', renderMode: 'richText' },
      series: names.map((name) => ({ name, type: days.length > 1 ? 'line' : 'bar', showSymbol: false,
        data: days.map((d) => byKey.get(`${name}|${d}`) ?? 0) })),
    });
    const body = section.querySelector('.body');
    const parts = [];
    if (tracking.rows.length === 0) parts.push(empty('No events in this range.'));
    else parts.push(table('Per event name', [
      ['event', (r) => r.event_name],
      ['events', (r) => fmt.int(r.events)],
      ['browser only', (r) => fmt.pct(r.browser_only / (r.events || NaN))],
      ['server only', (r) => fmt.pct(r.server_only / (r.events || NaN))],
      ['both', (r) => fmt.pct(r.both_sources / (r.events || NaN))],
      ['rejected', (r) => fmt.int(r.rejected)],
      ['rejection rate', (r) => fmt.pct(r.rejection_rate)],
      ['schema versions', (r) => r.schema_versions.join(', '), 'text'],
      ['funnel stage', (r) => r.funnel_stage ?? '', 'text'],
    ], tracking.rows));
    if (rejections.rows.length > 0) {
      parts.push(table('Rejections by reason', [
        ['reason', (r) => r.reason],
        ['event', (r) => r.event_name, 'text'],
        ['rejected', (r) => fmt.int(r.rejected)],
      ], rejections.rows));
    } else if (state.segment !== 'all') {
      parts.push(empty('Rejected messages have no person: they show for everyone only.'));
    }
    body.replaceChildren(...parts);
  },

  async value(section) {
    const value = await api('value');
    source(section, [value]);
    const rows = value.rows.filter((r) => r.uplift !== null);
    const labels = rows.map((r) => r.event_name).reverse();
    const reversed = [...rows].reverse();
    chart('value-chart', {
      grid: { left: 170, right: 24, top: 24, bottom: 28 },
      legend: { top: 0, data: ['95% interval', 'uplift'] },
      xAxis: { type: 'value', name: 'uplift in 90-day gross profit per person' },
      yAxis: { type: 'category', data: labels },
      series: [
        // stackStrategy 'all': an interval below zero starts at its low end.
        { name: 'base', type: 'bar', stack: 'interval', stackStrategy: 'all', silent: true, itemStyle: { color: 'transparent' },
          data: reversed.map((r) => Number(r.uplift_low)) },
        { name: '95% interval', type: 'bar', stack: 'interval', stackStrategy: 'all', barWidth: 10, itemStyle: { color: '#9db4d8' },
          data: reversed.map((r) => Number(r.uplift_high) - Number(r.uplift_low)) },
        { name: 'uplift', type: 'scatter', symbol: 'diamond', symbolSize: 12, itemStyle: { color: '#1d3b6e' },
          data: reversed.map((r) => Number(r.uplift)),
          label: { show: true, position: 'right', formatter: (p) => fmt.money(p.value) } },
      ],
    });
    const body = section.querySelector('.body');
    body.replaceChildren(value.rows.length === 0 ? empty('No micro-conversions for these persons.') : table(
      'P0 to P3: observed class against the contract’s', [
        ['micro-conversion', (r) => r.event_name],
        ['class', (r) => r.value_class],
        ['declared', (r) => r.declared_class ?? '–'],
        ['uplift', (r) => fmt.money(r.uplift)],
        ['95% interval', (r) => (r.uplift_low === null ? '–' : `${fmt.money(r.uplift_low)} to ${fmt.money(r.uplift_high)}`)],
        ['relative', (r) => fmt.pct(r.relative_uplift)],
        ['persons with / without', (r) => `${fmt.int(r.persons_with)} / ${fmt.int(r.persons_without)}`],
        ['expected revenue per occurrence', (r) => fmt.money(r.expected_revenue_per_occurrence)],
      ], value.rows, (r) => `class-${r.value_class}${r.class_disagrees ? ' disagrees' : ''}`));
  },

  async segments(section) {
    const segments = await api('segments');
    source(section, [segments]);
    const channels = segments.rows.filter((r) => r.dimension === 'channel');
    chart('segments-chart', {
      legend: { top: 0 },
      grid: { left: 56, right: 16, top: 32, bottom: 28 },
      xAxis: { type: 'category', data: channels.map((r) => r.segment) },
      yAxis: { type: 'value', name: 'gross profit per person' },
      series: ['30d', '60d', '90d', '180d'].map((n) => ({ name: n, type: 'bar',
        data: channels.map((r) => (r[`gross_profit_per_person_${n}`] === null ? null : Number(r[`gross_profit_per_person_${n}`]))) })),
    });
    const columns = (title) => [
      [title, (r) => r.segment, 'text'],
      ['persons', (r) => fmt.int(r.persons)],
      ['30 days', (r) => fmt.money(r.gross_profit_per_person_30d)],
      ['60 days', (r) => fmt.money(r.gross_profit_per_person_60d)],
      ['90 days', (r) => fmt.money(r.gross_profit_per_person_90d)],
      ['180 days', (r) => fmt.money(r.gross_profit_per_person_180d)],
      ['repeat rate 90d', (r) => fmt.pct(r.repeat_rate_90d)],
      ['refund rate 90d', (r) => fmt.pct(r.refund_rate_90d)],
    ];
    const body = section.querySelector('.body');
    const groups = [['channel', 'By first-touch channel', 'channel'], ['landing_page', 'By landing page', 'landing page'],
      ['micro_conversion', 'By micro-conversion in the first 7 days', 'micro-conversion']];
    const all = segments.rows.find((r) => r.dimension === 'all');
    body.replaceChildren(
      all ? table('Everyone selected', columns('segment'), [all]) : empty('No persons selected.'),
      ...groups.filter(([d]) => segments.rows.some((r) => r.dimension === d))
        .map(([d, caption, title]) => table(caption, columns(title), segments.rows.filter((r) => r.dimension === d))));
  },

  async funnel(section) {
    const funnel = await api('funnel');
    source(section, [funnel]);
    const all = funnel.rows.filter((r) => r.dimension === 'all');
    const names = [...new Set(funnel.rows.map((r) => r.funnel))];
    chart('funnel-chart', {
      grid: { left: 56, right: 16, top: 24, bottom: 28 },
      xAxis: { type: 'category', data: [...new Set(all.map((r) => r.event_name))] },
      yAxis: { type: 'value', name: 'persons' },
      series: names.map((name) => ({ name, type: 'bar',
        data: all.filter((r) => r.funnel === name).map((r) => r.persons),
        label: { show: true, position: 'top' } })),
    });
    const body = section.querySelector('.body');
    if (funnel.rows.length === 0) { body.replaceChildren(empty('Nobody in these persons reached a funnel step.')); return; }
    const parts = [];
    for (const name of names) {
      const rows = funnel.rows.filter((r) => r.funnel === name);
      parts.push(table(`Funnel ${name}: everyone`, [
        ['step', (r) => `${r.step}. ${r.event_name}`, 'text'],
        ['persons', (r) => fmt.int(r.persons)],
        ['from previous', (r) => fmt.pct(r.rate_from_previous)],
        ['from first', (r) => fmt.pct(r.rate_from_first)],
        ['median time to next', (r) => fmt.duration(r.median_seconds_to_next)],
      ], rows.filter((r) => r.dimension === 'all')));
      const steps = rows.filter((r) => r.dimension === 'all').slice(1);
      for (const [dimension, caption] of [['device_type', 'by device type'], ['channel', 'by channel']]) {
        const segments = [...new Set(rows.filter((r) => r.dimension === dimension).map((r) => r.segment))];
        const cell = (segment, step) => rows.find((r) => r.dimension === dimension && r.segment === segment && r.step === step);
        parts.push(table(`Step to step, ${caption}`, [
          [dimension === 'channel' ? 'channel' : 'device', (s) => s, 'text'],
          ['persons', (s) => fmt.int(cell(s, 1)?.persons)],
          ...steps.map((st) => [`→ ${st.event_name}`, (s) => {
            const c = cell(s, st.step);
            return `${fmt.pct(c?.rate_from_previous)} · ${fmt.duration(cell(s, st.step - 1)?.median_seconds_to_next)}`;
          }]),
        ], segments));
      }
    }
    body.replaceChildren(...parts);
  },

  async experiments(section) {
    const experiments = await api('experiments');
    source(section, [experiments]);
    const rows = experiments.rows;
    chart('experiments-chart', {
      legend: { top: 0 },
      grid: { left: 56, right: 16, top: 32, bottom: 28 },
      xAxis: { type: 'category', data: rows.map((r) => `${r.experiment_id} ${r.variant}`) },
      yAxis: { type: 'value', name: 'rate', axisLabel: { formatter: (v) => `${Math.round(v * 100)}%` } },
      series: [
        { name: 'conversion 30d', type: 'bar', data: rows.map((r) => (r.conversion_30d === null ? null : Number(r.conversion_30d))) },
        { name: 'repeat rate 60d', type: 'bar', data: rows.map((r) => (r.repeat_rate_60d === null ? null : Number(r.repeat_rate_60d))) },
      ],
    });
    const body = section.querySelector('.body');
    body.replaceChildren(rows.length === 0 ? empty('No exposures with 60 complete days in this range.') : table(
      'Each variant against its control', [
        ['experiment', (r) => r.experiment_id],
        ['variant', (r) => r.variant],
        ['persons', (r) => fmt.int(r.persons)],
        ['conversion 30d', (r) => fmt.pct(r.conversion_30d)],
        ['repeat rate 60d', (r) => fmt.pct(r.repeat_rate_60d)],
        ['gross profit per person 60d', (r) => fmt.money(r.gross_profit_per_person_60d)],
        ['verdict', (r) => r.verdict_text, 'text verdict'],
      ], rows, (r) => r.verdict));
  },

  async deliveries(section) {
    const deliveries = await api('deliveries');
    source(section, [deliveries]);
    const body = section.querySelector('.body');
    if (deliveries.rows.length === 0) {
      body.replaceChildren(empty('No destinations: set FUNNELHOUSE_DESTINATIONS_FILE to send conversions to ad platforms.'));
      return;
    }
    const parts = [table('Per destination', [
      ['destination', (r) => (r.removed ? `${r.destination} (removed)` : r.destination), 'text'],
      ['kind', (r) => r.kind, 'text'],
      ['sent', (r) => fmt.int(r.sent)],
      ['value sent', (r) => fmt.money(r.value_sent)],
      ['failed', (r) => fmt.int(r.failed)],
      ['skipped', (r) => fmt.int(r.skipped)],
      ['retried', (r) => fmt.int(r.retried)],
      ['waiting now', (r) => fmt.int(r.pending)],
      ['oldest waiting', (r) => fmt.duration(r.oldest_pending_seconds)],
      ['last failure', (r) => r.last_failure || '–', 'text'],
    ], deliveries.rows, (r) => (r.failed > 0 ? 'warn' : ''))];
    if (state.segment !== 'all') parts.push(empty('Deliveries are per destination: they show for everyone only.'));
    body.replaceChildren(...parts);
  },
};

async function overview() {
  const node = document.getElementById('overview');
  const o = await api('overview');
  const row = o.rows[0];
  node.replaceChildren(
    `${fmt.int(row.persons)} persons (${fmt.int(row.persons_complete_90d)} with 90 complete days), `,
    `${fmt.int(row.events)} events, ${fmt.int(row.orders)} orders · data up to ${row.horizon ? row.horizon.slice(0, 10) : '–'}`,
    ` · models refreshed ${row.refreshed_at ? row.refreshed_at.replace('T', ' ').slice(0, 16) : 'never'} UTC`);
  node.dataset.state = 'ready';
}

async function loadFilters() {
  const filters = await api('filters');
  const select = document.getElementById('segment');
  const keep = select.value;
  select.replaceChildren(element('option', { value: 'all' }, 'everyone'));
  for (const [dimension, label] of [['channel', 'Channel'], ['device_type', 'Device']]) {
    const group = element('optgroup', { label });
    for (const r of filters.rows.filter((f) => f.dimension === dimension)) {
      group.append(element('option', { value: `${dimension}:${r.segment}` }, `${r.segment} (${r.persons})`));
    }
    select.append(group);
  }
  select.value = keep;
}

async function refresh() {
  const mine = ++generation;
  document.getElementById('login').hidden = true;
  const sections = Object.keys(panels).map((id) => document.getElementById(id));
  for (const s of sections) s.dataset.state = 'loading';
  document.getElementById('overview').dataset.state = 'loading';
  const heading = overview().catch((error) => {
    if (error instanceof Unauthorized || error instanceof Stale) throw error;
    const node = document.getElementById('overview');
    node.replaceChildren(element('span', { className: 'error' }, error.message));
    node.dataset.state = 'error';
  });
  const jobs = [heading, ...sections.map(async (section) => {
    try {
      await panels[section.id](section);
      if (mine === generation) section.dataset.state = 'ready';
    } catch (error) {
      if (error instanceof Unauthorized || error instanceof Stale) throw error;
      section.dataset.state = 'error';
      section.querySelector('.body').replaceChildren(element('p', { className: 'error' }, error.message));
    }
  })];
  const results = await Promise.allSettled(jobs);
  if (results.some((r) => r.status === 'rejected' && r.reason instanceof Unauthorized)) {
    document.getElementById('login').hidden = false;
  }
}

function readForm() {
  state.from = document.getElementById('from').value;
  state.to = document.getElementById('to').value;
  state.segment = document.getElementById('segment').value;
  const query = new URLSearchParams();
  if (state.from) query.set('from', state.from);
  if (state.to) query.set('to', state.to);
  if (state.segment !== 'all') query.set('segment', state.segment);
  history.replaceState(null, '', `${location.pathname}${query.size ? `?${query}` : ''}`);
}

async function start() {
  // A token in the fragment (#token=...) never reaches a server log.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get('token')) {
    state.token = fragment.get('token');
    sessionStorage.setItem('funnelhouse.token', state.token);
    history.replaceState(null, '', `${location.pathname}${location.search}`);
  }
  const query = new URLSearchParams(location.search);
  document.getElementById('from').value = query.get('from') || '';
  document.getElementById('to').value = query.get('to') || '';
  // The panels say what went wrong; the segment list stays "everyone".
  await loadFilters().catch(() => {});
  document.getElementById('segment').value = query.get('segment') || 'all';
  readForm();
  for (const id of ['from', 'to', 'segment']) {
    document.getElementById(id).addEventListener('change', () => { readForm(); refresh(); });
  }
  document.getElementById('clear').addEventListener('click', () => {
    document.getElementById('from').value = '';
    document.getElementById('to').value = '';
    document.getElementById('segment').value = 'all';
    readForm();
    refresh();
  });
  document.getElementById('login').addEventListener('submit', async (event) => {
    event.preventDefault();
    state.token = document.getElementById('token').value;
    sessionStorage.setItem('funnelhouse.token', state.token);
    await loadFilters().catch(() => {});
    refresh();
  });
  window.addEventListener('resize', () => { for (const c of charts.values()) c.resize(); });
  refresh();
}

document.addEventListener('DOMContentLoaded', start);
