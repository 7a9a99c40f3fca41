// The dashboard end to end: a simulated shop is posted to the real server
// through its HTTP API and loaded into a real PostgreSQL, the models are
// refreshed, and Debian's chromium opens /dashboard. Every expected number
// is read from the models with psql, independently of the dashboard's own
// functions, and formatted as the page formats it.
//
// Needs FH_BINARY (the built binary), FH_TEST_DATABASE_URL (a
// database of the test cluster; the test makes one of its own beside it)
// and FH_ARTEFACTS (where the screenshots go).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { environment as serverEnvironment, psql, psqlRows, root, serve, stop } from './funnelhouse.mjs';

const binary = process.env.FH_BINARY;
const baseUrl = process.env.FH_TEST_DATABASE_URL;
const artefacts = process.env.FH_ARTEFACTS || join(root, 'build/artefacts');
assert.ok(binary, 'FH_BINARY must name the built binary');
assert.ok(baseUrl, 'FH_TEST_DATABASE_URL must name the test database');

const token = 'dashboard-test-token-0123456789';
const database = `fh_browser_${process.pid}`;
const databaseUrl = baseUrl.replace(/\/[^/]*$/, `/${database}`);
const work = mkdtempSync(join(tmpdir(), 'funnelhouse-browser-'));
let server;
let serverUrl;
let browser; // a persistent context: one fresh profile

const q = (sql) => psql(databaseUrl, sql);
const rows = (sql) => psqlRows(databaseUrl, sql);

// The page's formats (clients/dashboard/src/app.js).
const money = (x) => Number(x).toFixed(2);
const pct = (x) => `${(Number(x) * 100).toFixed(1)}%`;
const points = (x) => `${x >= 0 ? '+' : ''}${(Number(x) * 100).toFixed(1)}`;
const duration = (seconds) => {
  const s = Number(seconds);
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
};

const environment = () => serverEnvironment({ databaseUrl, work, extra: {
  FUNNELHOUSE_ADMIN_TOKEN: token, FUNNELHOUSE_RATE_LIMIT_ADDRESS: '0',
  FUNNELHOUSE_DESTINATIONS_FILE: join(work, 'destinations.json'), FUNNELHOUSE_ACTIVATION_SETTLE_MS: '0',
  FH_TEST_HOOK_SECRET: 'dashboard-test-hook-secret',
} });

// A webhook receiver on loopback for the deliveries panel: every order
// that has marketing consent is sent to it.
const hooks = [];
const receiver = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => { hooks.push(JSON.parse(Buffer.concat(chunks).toString())); res.end('ok'); });
});

function run(...args) {
  return execFileSync(binary, args, { env: environment(), encoding: 'utf8', timeout: 120_000 });
}

before(async () => {
  psql(baseUrl, `CREATE DATABASE ${database}`);
  writeFileSync(join(work, 'keys.json'), JSON.stringify([
    { name: 'web', key: 'browser-key-0123456789', source: 'browser' },
    { name: 'backend', key: 'server-key-0123456789abcdef', source: 'server' },
  ]));
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  writeFileSync(join(work, 'destinations.json'), JSON.stringify([{
    name: 'crm', kind: 'webhook', starts_at: new Date(Date.now() - 1000 * 864e5).toISOString(),
    consent: 'marketing', orders: { events: ['order_completed'] },
    url: `http://127.0.0.1:${receiver.address().port}/hooks`, secret: { env: 'FH_TEST_HOOK_SECRET' },
  }]));
  run('migrate');
  ({ process: server, url: serverUrl } = await serve(binary, environment()));
  run('simulate', '--url', serverUrl, '--persons', '2000', '--days', '240', '--seed', '11');
  // The simulated shop states no consent: its orders are not sent. Three
  // orders with marketing consent are.
  const consented = [0, 1, 2].map((i) => ({
    type: 'track', event: 'order_completed', messageId: `consented-order-${i}`, userId: `buyer-${i}`,
    properties: { order_id: `consented-${i}`, revenue: 30 + i, currency: 'EUR' },
    context: { consent: { categoryPreferences: { analytics: true, marketing: true } } },
  }));
  const posted = await fetch(`${serverUrl}/v1/batch`, {
    method: 'POST', body: JSON.stringify({ batch: consented }),
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('server-key-0123456789abcdef:').toString('base64')}` },
  });
  assert.equal(posted.status, 200, await posted.text());
  // Everything acknowledged is loaded once the spool holds nothing unloaded.
  for (let i = 0; ; ++i) {
    const ready = await (await fetch(`${serverUrl}/readyz`)).json();
    if (ready.spool.unloaded_records === 0) break;
    assert.ok(i < 600, 'the spool was not loaded within a minute');
    await new Promise((r) => setTimeout(r, 100));
  }
  for (let i = 0; q("SELECT count(*) FROM activation_outbox WHERE state IN ('pending', 'sending')") !== '0'; ++i) {
    assert.ok(i < 600, 'the deliveries were not done within a minute');
    await new Promise((r) => setTimeout(r, 100));
  }
  // The team's candidate experiments, for the journeys section's queue.
  q(`INSERT INTO models.experiment_candidates (name, target_event, expected_lift, confidence, ease) VALUES
     ('size guide banner', 'size_guide_opened', 0.3, 5, 9), ('compare button', 'product_compare_opened', 0.2, 6, 8),
     ('quiz', 'quiz_completed', 0.5, 8, 8)`);
  run('refresh');
  // An alert raised before, resolved since, for the alerts panel (the shop
  // itself has too few sessions a day for the rate rule).
  q(`INSERT INTO alerts (subject_type, subject, state, rules, since, last_day, cause, likely_cause, summary, context, resolved_at)
     VALUES ('event', 'add_to_cart', 'resolved', '{rate_drop}', current_date - 3, current_date - 2, 'segment',
             'only device type mobile', 'add_to_cart fell by half', '{}', now())`);
  // A fresh profile of its own (the persistent context's folder).
  browser = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  mkdirSync(artefacts, { recursive: true });
});

after(async () => {
  receiver.close();
  await browser?.close();
  await stop(server);
  try { psql(baseUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`); } catch { /* reported by the tests */ }
  rmSync(work, { recursive: true, force: true });
});

// Opens the page and waits until every panel has drawn; returns the page,
// the problems the browser reported, and how long it took.
async function open(path) {
  const page = await browser.newPage();
  const problems = [];
  page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()); });
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('request', (request) => {
    if (!request.url().startsWith(serverUrl)) problems.push(`request outside the server: ${request.url()}`);
  });
  const started = Date.now();
  await page.goto(`${serverUrl}${path}`);
  await settle(page);
  return { page, problems, took: Date.now() - started };
}

async function settle(page) {
  await page.waitForFunction(() => [...document.querySelectorAll('.panel, #overview')]
    .every((node) => node.dataset.state === 'ready' || node.dataset.state === 'error'), null, { timeout: 30_000 });
  const failed = await page.$$eval('.panel[data-state=error]', (nodes) => nodes.map((n) => `${n.id}: ${n.textContent}`));
  assert.deepEqual(failed, []);
}

// The cells of the row whose first cell is `first`, in a panel's table with
// that caption.
async function row(page, panel, caption, first) {
  return page.$$eval(`#${panel} table`, (tables, [caption, first]) => {
    const table = tables.find((t) => t.caption.textContent === caption);
    if (!table) return null;
    const tr = [...table.tBodies[0].rows].find((r) => r.cells[0].textContent === first);
    return tr ? [...tr.cells].map((c) => c.textContent) : null;
  }, [caption, first]);
}

async function chartTexts(page, id) {
  return page.$$eval(`#${id} svg text`, (nodes) => nodes.map((n) => n.textContent));
}

test('without the admin token the page asks for it and shows no data', async () => {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(`${serverUrl}/dashboard`);
  await page.waitForSelector('#login:not([hidden])', { timeout: 15_000 });
  assert.equal(await page.$$eval('#value tbody tr', (r) => r.length), 0);
  assert.deepEqual(problems, []);
  await page.close();
});

test('every panel shows the models\' numbers, and the filters change them', async () => {
  const { page, problems, took } = await open(`/dashboard#token=${token}`);
  console.log(`dashboard ready in ${took} ms`);
  await page.screenshot({ path: join(artefacts, 'dashboard.png'), fullPage: true });

  // The heading.
  const persons = q('SELECT count(*) FROM models.person_firsts');
  const overview = await page.textContent('#overview');
  assert.match(overview, new RegExp(`^${persons} persons \\(${q('SELECT count(*) FROM models.person_value WHERE complete_90d')} with 90 complete days\\)`));
  assert.match(overview, new RegExp(`${q('SELECT count(*) FROM models.orders')} orders`));

  // Alerts: the planted defect (tablets send search_used's results_count as
  // a string) rejects over 5% of search_used.
  const [[alertDay, alertRate]] = rows("SELECT day, rejection_rate FROM models.tracking_health WHERE event_name = 'search_used' AND alert");
  const alerts = await page.$$eval('#alerts li', (items) => items.map((i) => i.textContent));
  const [[since, last]] = rows("SELECT since, last_day FROM alerts WHERE subject = 'add_to_cart'");
  assert.ok(alerts.includes(`add_to_cart (event) resolved, ${since} to ${last}: add_to_cart fell by half. Likely cause: only device type mobile`), alerts.join('\n'));
  assert.ok(alerts.includes(`search_used on ${alertDay}: rejection rate ${pct(alertRate)} (${q(`SELECT rejected FROM models.tracking_health WHERE event_name = 'search_used' AND day = '${alertDay}'`)} rejected)`), alerts.join('\n'));
  assert.ok(Number(alertRate) > 0.05);

  // Tracking health: per event name, and the chart's series.
  for (const [name, events, rejected, rate] of rows('SELECT event_name, sum(events), sum(rejected), sum(rejected)::numeric / nullif(sum(events) + sum(rejected), 0) FROM models.tracking_health GROUP BY event_name')) {
    const cells = await row(page, 'tracking', 'Per event name', name);
    assert.ok(cells, `no tracking row for ${name}`);
    assert.equal(cells[1], events, name);
    assert.equal(cells[5], rejected, name);
    if (rate !== '') assert.equal(cells[6], pct(rate), name);
  }
  const reasons = await row(page, 'tracking', 'Rejections by reason', 'schema_violation');
  assert.deepEqual(reasons, ['schema_violation', 'search_used', q("SELECT count(*) FROM bad_events WHERE reason = 'schema_violation'")]);
  assert.ok((await chartTexts(page, 'volume-chart')).includes('page_view'));
  assert.ok(await page.$$eval('#volume-chart svg path', (p) => p.length) > 10);

  // Value: every micro-conversion's class, uplift and interval as
  // models.event_value has them, and the uplift labels on the chart.
  const value = rows('SELECT event_name, value_class, coalesce(declared_class, \'–\'), uplift, uplift_low, uplift_high, persons_with, persons_without, expected_revenue_per_occurrence FROM models.event_value WHERE uplift IS NOT NULL');
  assert.ok(value.length >= 8);
  const labels = await chartTexts(page, 'value-chart');
  for (const [name, cls, declared, uplift, low, high, withN, withoutN, worth] of value) {
    const cells = await row(page, 'value', 'P0 to P3: observed class against the contract’s', name);
    assert.ok(cells, `no value row for ${name}`);
    assert.deepEqual(cells.slice(0, 5), [name, cls, declared, money(uplift), `${money(low)} to ${money(high)}`]);
    assert.equal(cells[6], `${withN} / ${withoutN}`);
    assert.equal(cells[7], worth === '' ? '–' : money(worth));
    assert.ok(labels.includes(money(uplift)), `chart label ${money(uplift)} of ${name}`);
  }
  assert.equal(q("SELECT value_class IN ('P0', 'P1', 'P2') FROM models.event_value WHERE event_name = 'product_compare_opened'"), 't');

  // Value by segment: gross profit per person by channel (cohort_ltv).
  for (const [channel, p, gp30, gp90, repeat] of rows("SELECT cohort, persons, gross_profit_per_person_30d, gross_profit_per_person_90d, repeat_rate_90d FROM models.cohort_ltv WHERE cohort_kind = 'channel'")) {
    const cells = await row(page, 'segments', 'By first-touch channel', channel);
    assert.deepEqual([cells[1], cells[2], cells[4], cells[6]], [p, money(gp30), money(gp90), pct(repeat)], channel);
  }
  // Planted: newsletter readers come back four times as often as ad
  // clicks (on 2,000 persons their 90-day profit is too noisy to order).
  const [newsletterRepeat, adsRepeat] = ['newsletter', 'ads'].map((c) => Number(q(`SELECT repeat_rate_90d FROM models.cohort_ltv WHERE cohort_kind = 'channel' AND cohort = '${c}'`)));
  assert.ok(newsletterRepeat > adsRepeat, 'newsletter readers come back more often than ad clicks');
  assert.ok((await chartTexts(page, 'segments-chart')).includes('newsletter'));

  // The funnel, for everyone and by device.
  for (const [step, name, p, rate] of rows("SELECT step, event_name, persons, rate_from_previous FROM models.funnel WHERE funnel = 'purchase' AND dimension = 'all' ORDER BY step")) {
    const cells = await row(page, 'funnel', 'Funnel purchase: everyone', `${step}. ${name}`);
    assert.equal(cells[1], p);
    assert.equal(cells[2], rate === '' ? '–' : pct(rate));
  }
  const mobile = await row(page, 'funnel', 'Step to step, by device type', 'mobile');
  assert.equal(mobile[1], q("SELECT persons FROM models.funnel WHERE dimension = 'device_type' AND segment = 'mobile' AND step = 1"));
  assert.ok((await chartTexts(page, 'funnel-chart')).includes(q("SELECT persons FROM models.funnel WHERE dimension = 'all' AND step = 1")));

  // Experiments: the new checkout wins conversion but is a regression.
  const [[conversion, repeat, verdict]] = rows("SELECT conversion_30d, repeat_rate_60d, verdict FROM models.experiment_guardrails WHERE variant = 'B'");
  assert.equal(verdict, 'regression');
  const variantB = await page.$$eval('#experiments tbody tr', (trs) => trs.map((tr) => [tr.className, ...[...tr.cells].map((c) => c.textContent)]).find((r) => r[2] === 'B'));
  assert.equal(variantB[0], 'regression');
  assert.equal(variantB[4], pct(conversion));
  assert.equal(variantB[5], pct(repeat));
  assert.match(variantB[7], /^wins on conversion \(\+\d+\.\d points\), loses on repeat purchases \(-\d+\.\d points\): treat as a regression$/);

  // Deliveries: the three consented orders sent, the shop's others skipped.
  const crm = await row(page, 'deliveries', 'Per destination', 'crm');
  assert.deepEqual(crm.slice(1, 8), ['webhook', '3', money(93), '0',
    q("SELECT count(*) FROM deliveries WHERE state = 'skipped'"), '0', '0']);
  assert.ok(Number(crm[5]) > 0, 'the simulated orders were skipped for want of consent');
  assert.deepEqual(hooks.map((h) => h.data.order_id).sort(), ['consented-0', 'consented-1', 'consented-2']);

  // Each panel names its model and links to its definition, which the
  // server serves.
  const sources = await page.$$eval('.panel .source', (nodes) => nodes.map((n) => [n.querySelector('code')?.textContent, n.querySelector('a')?.getAttribute('href')]));
  for (const [model, href] of sources) {
    assert.match(model, /^(models\.\w+|deliveries|alerts)$/);
    assert.match(href, /^\/dashboard\/docs\/dashboard\.html#[a-z-]+$/);
    const doc = await page.request.get(`${serverUrl}${href}`);
    assert.equal(doc.status(), 200);
    assert.ok((await doc.text()).includes(`id="${href.split('#')[1]}"`), href);
  }

  // The segment filter: newsletter readers only.
  await page.selectOption('#segment', 'channel:newsletter');
  await settle(page);
  const newsletter = q("SELECT count(*) FROM models.person_firsts WHERE channel = 'newsletter'");
  assert.match(await page.textContent('#overview'), new RegExp(`^${newsletter} persons`));
  const compared = q(`SELECT count(*) FROM models.early_conversions e JOIN models.person_firsts p USING (person_id)
    JOIN models.person_value v USING (person_id) WHERE e.event_name = 'product_compare_opened' AND p.channel = 'newsletter' AND v.complete_90d`);
  const population = q("SELECT count(*) FROM models.person_value v JOIN models.person_firsts p USING (person_id) WHERE p.channel = 'newsletter' AND v.complete_90d");
  const filtered = await row(page, 'value', 'P0 to P3: observed class against the contract’s', 'product_compare_opened');
  assert.equal(filtered[6], `${compared} / ${Number(population) - Number(compared)}`);
  assert.deepEqual(await page.$$eval('#segments table', (t) => t.filter((x) => x.caption.textContent === 'By first-touch channel').map((x) => [...x.tBodies[0].rows].map((r) => r.cells[0].textContent))), [['newsletter']]);
  const newsletterSearch = q("SELECT coalesce(sum(events), 0) FROM models.tracking_by_segment WHERE channel = 'newsletter' AND event_name = 'search_used'");
  assert.equal((await row(page, 'tracking', 'Per event name', 'search_used'))[1], newsletterSearch);
  assert.match(page.url(), /\?segment=channel%3Anewsletter$/);

  // The date range: persons first seen in the first 30 days of the shop.
  await page.selectOption('#segment', 'all');
  await settle(page);
  const [[from, to]] = rows("SELECT to_char(min(first_seen) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), to_char(min(first_seen) AT TIME ZONE 'UTC' + interval '29 days', 'YYYY-MM-DD') FROM models.person_firsts");
  await page.fill('#from', from);
  await page.dispatchEvent('#from', 'change');
  await page.fill('#to', to);
  await page.dispatchEvent('#to', 'change');
  await settle(page);
  const early = q(`SELECT count(*) FROM models.person_firsts WHERE first_seen >= '${from}'::date AT TIME ZONE 'UTC' AND first_seen < ('${to}'::date + 1) AT TIME ZONE 'UTC'`);
  assert.match(await page.textContent('#overview'), new RegExp(`^${early} persons`));
  assert.ok(Number(early) < Number(persons));
  const step1 = q(`SELECT count(*) FROM models.funnel_progress f JOIN models.person_firsts p USING (person_id) WHERE f.step = 1 AND f.funnel = 'purchase' AND p.first_seen >= '${from}'::date AT TIME ZONE 'UTC' AND p.first_seen < ('${to}'::date + 1) AT TIME ZONE 'UTC'`);
  assert.equal((await row(page, 'funnel', 'Funnel purchase: everyone', '1. product_viewed'))[1], step1);
  await page.screenshot({ path: join(artefacts, 'dashboard-filtered.png'), fullPage: true });

  assert.deepEqual(problems, []);
  await page.close();
});

test('the data dictionary lists every contract by funnel stage with the models\' facts', async () => {
  const page = await browser.newPage();
  const problems = [];
  page.on('console', (message) => { if (message.type() === 'error' && !message.text().includes('401')) problems.push(message.text()); });
  page.on('pageerror', (error) => problems.push(error.message));
  // Without the token: the form, and no data.
  await page.goto(`${serverUrl}/dictionary`);
  await page.waitForSelector('#login:not([hidden])', { timeout: 15_000 });
  assert.equal(await page.$$eval('article.event', (a) => a.length), 0);
  await page.fill('#token', token);
  await page.click('#login button');
  await page.waitForSelector('#dictionary[data-state=ready]', { timeout: 15_000 });
  await page.screenshot({ path: join(artefacts, 'dictionary.png'), fullPage: true });

  // Every contract once, by stage in the funnel's order.
  const contracts = execFileSync('sh', ['-c', `ls ${join(root, 'schemas')}`], { encoding: 'utf8' }).trim().split('\n');
  const names = await page.$$eval('article.event', (a) => a.map((x) => x.dataset.event));
  assert.deepEqual([...names].sort(), [...contracts].sort());
  assert.deepEqual(await page.$$eval('section.stage', (s) => s.map((x) => x.id)),
    ['stage-awareness', 'stage-consideration', 'stage-intent', 'stage-purchase', 'stage-retention', 'stage-none']);
  assert.deepEqual(await page.$$eval('#stage-intent article', (a) => a.map((x) => x.dataset.event)),
    rows("SELECT event_name FROM models.contract_latest WHERE funnel_stage = 'intent' ORDER BY event_name").map((r) => r[0]));

  // The facts are the models' own, read here with psql.
  const week = (name, column) => q(`SELECT coalesce(sum(${column}), 0) FROM models.tracking_health
    WHERE event_name = '${name}' AND day > (SELECT max(day) FROM models.tracking_health) - 7`);
  for (const name of ['add_to_cart', 'search_used', 'order_completed']) {
    const facts = await page.$eval(`#event-${name}`, (a) => [a.dataset.events, a.dataset.rejected]);
    assert.deepEqual(facts, [week(name, 'events'), week(name, 'rejected')], name);
  }
  assert.ok(Number(week('search_used', 'rejected')) > 0, 'the tablets\' rejected searches are in the week');
  const [[declared, observed]] = rows("SELECT declared_class, value_class FROM models.event_value WHERE event_name = 'product_compare_opened'");
  const compare = await page.textContent('#event-product_compare_opened');
  assert.ok(compare.includes(`declared ${declared}, observed ${observed}`), compare);
  // Properties, versions and the example.
  const cart = await page.textContent('#event-add_to_cart');
  assert.ok(cart.includes('product_id') && cart.includes('1 to 100 characters'), cart);
  assert.ok(cart.includes('1-0-0: first version'), cart);
  const example = JSON.parse(await page.textContent('#event-add_to_cart pre.example'));
  assert.equal(example.event, 'add_to_cart');
  assert.equal(await page.$$eval('p.problem', (p) => p.length), 0);
  assert.deepEqual(problems, []);
  await page.close();
});

// The rows of a panel's table with that caption, as their cells' texts.
async function tableRows(page, panel, caption) {
  return page.$$eval(`#${panel} table`, (tables, caption) => {
    const table = tables.find((t) => t.caption.textContent === caption);
    return table ? [...table.tBodies[0].rows].map((r) => [...r.cells].map((c) => c.textContent)) : null;
  }, caption);
}

test('the journeys section shows paths, what sets converters apart, the drop-off, time to convert and the queue', async () => {
  const { page, problems } = await open(`/dashboard#token=${token}`);
  await page.locator('#journeys').screenshot({ path: join(artefacts, 'journeys.png') });

  // Paths of converters and of non-converters, side by side, as
  // models.paths ranks them; the counts recomputed from the persons' paths.
  const converters = await tableRows(page, 'journeys', 'Top paths of converters');
  const expected = rows('SELECT path, converters, conversion_rate FROM models.paths WHERE converter_rank IS NOT NULL ORDER BY converter_rank LIMIT 10');
  assert.ok(expected.length >= 5);
  assert.deepEqual(converters.map((c) => [c[0], c[1], c[3]]), expected.map(([path, n, rate]) => [path, n, pct(rate)]));
  const [top] = expected[0];
  assert.equal(converters[0][1], q(`SELECT count(*) FROM models.person_paths WHERE converted
    AND coalesce(nullif(array_to_string(path[1:5], ' > '), ''), '(none)') = '${top}'`));
  const others = await tableRows(page, 'journeys', 'Top paths of non-converters');
  assert.deepEqual(others.map((c) => [c[0], c[1]]),
    rows('SELECT path, non_converters FROM models.paths WHERE non_converter_rank IS NOT NULL ORDER BY non_converter_rank LIMIT 10'));

  // The steps more common among converters: each as models.path_comparison
  // has it, all credibly so, the largest difference first, leaving out the
  // funnel's own steps among themselves; the planted order among them.
  const telling = await tableRows(page, 'journeys', 'Steps more common among converters');
  assert.ok(telling.length > 0 && telling.length <= 8);
  for (const cells of telling) {
    const [first, second] = cells[0].split(' → ');
    const [[share1, share0, difference, low, high]] = rows(`SELECT share_of_converters, share_of_non_converters, difference,
      difference_low, difference_high FROM models.path_comparison WHERE first_event = '${first}'
      AND ${second ? `second_event = '${second}'` : "kind = 'event'"}`);
    assert.deepEqual(cells.slice(1, 5), [pct(share1), pct(share0), points(difference), `${points(low)} to ${points(high)}`], cells[0]);
    assert.ok(Number(low) > 0, cells[0]);
  }
  assert.equal(telling[0][3], points(q(`SELECT max(difference) FROM models.path_comparison WHERE difference_low > 0
    AND NOT (first_event IN (SELECT event_name FROM models.funnel_steps)
             AND coalesce(second_event IN (SELECT event_name FROM models.funnel_steps), true))`)));
  assert.equal(q("SELECT string_agg(DISTINCT kind || ' ' || first_event, ',') FROM models.path_comparison WHERE funnel_steps_only AND kind = 'event'"),
    'event add_to_cart,event checkout_started,event payment_attempted,event product_viewed');
  assert.ok(!telling.some((c) => ['checkout_started', 'add_to_cart → checkout_started'].includes(c[0])));
  assert.ok(telling.some((c) => c[0] === 'product_compare_opened → add_to_cart'), telling.map((c) => c[0]).join(', '));

  // The largest drop-off of the purchase funnel, and where it is worst.
  const [[from, to, loss, reached, lossLow, lossHigh, step]] = rows(`SELECT event_name, next_event_name, loss, reached, loss_low,
    loss_high, step FROM models.drop_off WHERE funnel = 'purchase' AND dimension = 'all' AND largest`);
  assert.equal(await page.textContent('#journeys .largest-drop'),
    `${from} → ${to} loses ${pct(loss)} of ${reached} persons (${pct(lossLow)} to ${pct(lossHigh)}), the largest drop-off of funnel purchase.`);
  const worst = await tableRows(page, 'journeys', `Where it is worst: ${from} → ${to}`);
  const segments = rows(`SELECT dimension || ': ' || segment, reached, loss, loss_low, loss_high FROM models.drop_off
    WHERE funnel = 'purchase' AND step = ${step} AND dimension <> 'all' AND worst_rank <= 5 ORDER BY dimension, worst_rank`);
  assert.deepEqual(worst.map((c) => c.slice(0, 4)),
    segments.map(([segment, n, l, lo, hi]) => [segment, n, pct(l), `${pct(lo)} to ${pct(hi)}`]));

  // Time to convert: every micro-conversion's persons and times, and the
  // distribution's buckets in the chart's legend.
  for (const [name, persons, median, p75] of rows(`SELECT event_name, persons, median_seconds_from_first_touch,
    p75_seconds_from_first_touch FROM models.time_to_convert`)) {
    const cells = await row(page, 'journeys', 'Time to convert, from first touch', name);
    assert.deepEqual(cells.slice(0, 4), [name, persons, duration(median), duration(p75)], name);
  }
  const legend = await chartTexts(page, 'journeys-chart');
  for (const bucket of ['< 1 min', '1 min – 1 h', '1 h – 1 day', '1 day – 1 week', '≥ 1 week']) assert.ok(legend.includes(bucket), bucket);

  // The queue: both rankings as models.experiment_priorities has them; the
  // never-seen quiz first by ICE, last by value.
  const queue = await tableRows(page, 'journeys', 'Experiment queue, by value');
  assert.deepEqual(queue.map((c) => [c[0], c[8], c[10]]),
    rows('SELECT name, value_rank, ice_rank FROM models.experiment_priorities ORDER BY value_rank, ice_rank, name'));
  const quiz = queue.find((c) => c[0] === 'quiz');
  assert.deepEqual([quiz[7], quiz[8], quiz[10]], ['–', '3', '1']);
  const guide = queue.find((c) => c[0] === 'size guide banner');
  assert.equal(guide[7], money(q("SELECT value_per_week FROM models.experiment_priorities WHERE name = 'size guide banner'")));

  // Filtered to newsletter readers: their paths, counted from their own
  // persons; the queue stays the shop's.
  await page.selectOption('#segment', 'channel:newsletter');
  await settle(page);
  const filtered = await tableRows(page, 'journeys', 'Top paths of converters');
  assert.equal(filtered[0][1], q(`SELECT count(*) FROM models.person_paths pp JOIN models.person_firsts p USING (person_id)
    WHERE pp.converted AND p.channel = 'newsletter' AND coalesce(nullif(array_to_string(pp.path[1:5], ' > '), ''), '(none)') = '${filtered[0][0]}'`));
  assert.ok(Number(filtered[0][1]) < Number(converters.find((c) => c[0] === filtered[0][0])?.[1] ?? Infinity));
  assert.deepEqual((await tableRows(page, 'journeys', 'Experiment queue, by value')).map((c) => c[0]), queue.map((c) => c[0]));
  assert.ok((await page.textContent('#journeys .queue')).includes('The queue is the shop’s'));
  assert.deepEqual(problems, []);
  await page.close();
});
