// The browser tracker end to end: Debian's chromium opens a test shop on
// http://localhost (tests/browser/shop.mjs) whose pages load the tracker
// from the real Funnelhouse server with one script tag. What arrives is
// read back from a real PostgreSQL with psql.
//
// Needs FH_BINARY (the built binary), FH_TEST_DATABASE_URL (a database of
// the test cluster; the test makes one of its own beside it) and FH_TRACKER
// (the built script, which the server serves at /funnelhouse.js).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { environment, psql, psqlRows, root, serve, stop } from './funnelhouse.mjs';
import { startShop } from './shop.mjs';

const binary = process.env.FH_BINARY;
const baseUrl = process.env.FH_TEST_DATABASE_URL;
const trackerFile = process.env.FH_TRACKER;
assert.ok(binary, 'FH_BINARY must name the built binary');
assert.ok(baseUrl, 'FH_TEST_DATABASE_URL must name the test database');
assert.ok(trackerFile, 'FH_TRACKER must name the built tracker');

const browserKey = 'tracker-browser-key-0123456789';
const serverKey = 'tracker-server-key-0123456789abcdef';
const database = `fh_tracker_${process.pid}`;
const databaseUrl = baseUrl.replace(/\/[^/]*$/, `/${database}`);
const work = mkdtempSync(join(tmpdir(), 'funnelhouse-tracker-'));
let server; // the funnelhouse process
let serverUrl;
let listen = '127.0.0.1:0';
let shop;

const q = (sql) => psql(databaseUrl, sql);
const rows = (sql) => psqlRows(databaseUrl, sql);
const list = (ids) => `ARRAY[${ids.map((id) => `'${id.replace(/'/g, "''")}'`).join(',')}]::text[]`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startServer() {
  if (server && server.exitCode === null) return;
  const env = environment({ databaseUrl, work, extra: { FUNNELHOUSE_LISTEN: listen, FUNNELHOUSE_TRACKER_FILE: trackerFile } });
  ({ process: server, url: serverUrl } = await serve(binary, env));
  listen = serverUrl.replace('http://', ''); // a restart takes the same port
}

const stopServer = () => stop(server);

before(async () => {
  psql(baseUrl, `CREATE DATABASE ${database}`);
  shop = await startShop({ funnelhouse: () => serverUrl, browserKey, serverKey });
  // The browser key takes pages of the shop only.
  writeFileSync(join(work, 'keys.json'), JSON.stringify([
    { name: 'web', key: browserKey, source: 'browser', origins: [shop.url] },
    { name: 'backend', key: serverKey, source: 'server' },
  ]));
  execFileSync(binary, ['migrate'], { env: environment({ databaseUrl, work }), encoding: 'utf8', timeout: 120_000 });
  await startServer();
});

after(async () => {
  await stopServer();
  await shop?.close();
  try { psql(baseUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`); } catch { /* reported by the tests */ }
  rmSync(work, { recursive: true, force: true });
});

// A fresh chromium profile. Records every message pages send to
// Funnelhouse (by fetch or sendBeacon) and what the browser reports.
async function openBrowser(name) {
  const context = await chromium.launchPersistentContext(join(work, `profile-${name}`), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const sent = []; // { kind: 'fetch' or 'beacon', messages }
  const problems = [];
  context.on('request', (request) => {
    if (request.url().startsWith(`${serverUrl}/v1/`)) sent.push({ kind: 'fetch', messages: JSON.parse(request.postData()).batch });
  });
  // sendBeacon's requests are not among the requests the driver reports,
  // and a page that is going away cannot call out: each page notes its
  // beacons in sessionStorage, which the shop's next page (same origin,
  // same tab) still has.
  await context.addInitScript(() => {
    const send = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = (url, body) => {
      const noted = JSON.parse(sessionStorage.getItem('beacons') || '[]');
      sessionStorage.setItem('beacons', JSON.stringify([...noted, { url: String(url), body: String(body) }]));
      return send(url, body);
    };
  });
  context.on('page', (page) => page.on('pageerror', (error) => problems.push(error.message)));
  for (const page of context.pages()) page.on('pageerror', (error) => problems.push(error.message));
  const page = context.pages()[0] ?? await context.newPage();
  // The beacons a tab sent, by its sessionStorage.
  const beacons = async (tab = page) => (await tab.evaluate(() => JSON.parse(sessionStorage.getItem('beacons') || '[]')))
    .filter((b) => b.url.startsWith(`${serverUrl}/v1/`)).map((b) => ({ kind: 'beacon', messages: JSON.parse(b.body).batch }));
  return { context, sent, problems, page, beacons };
}

const messages = (sent) => sent.flatMap((s) => s.messages);
// Polls PostgreSQL until `sql` returns `expected` (a bounded wait: the
// figures are reported, never asserted on time).
async function until(sql, expected, limit = 30_000) {
  const started = Date.now();
  for (;;) {
    const got = q(sql);
    if (got === expected) return Date.now() - started;
    if (Date.now() - started > limit) assert.equal(got, expected, `${sql} after ${limit} ms`);
    await sleep(20);
  }
}

test('a shopper: nothing before consent, then every event once, the order from both sources, one person', async () => {
  const { context, sent, problems, page, beacons } = await openBrowser('journey');
  const origin = shop.url;
  await page.goto(`${origin}/product?utm_source=newsletter&utm_medium=email&utm_campaign=autumn&gclid=G-browser-1`);
  await page.waitForSelector('#banner:not([hidden])');
  // Consent is required and not given yet: the page view and product view
  // above went nowhere, and nothing identifies the visitor.
  await sleep(1000);
  assert.deepEqual(sent, []);
  assert.deepEqual((await context.cookies()).filter((c) => c.name.startsWith('fh_')), []);
  assert.deepEqual(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('fh_'))), []);
  assert.equal(await page.evaluate(() => funnelhouse.state().anonymousId), null);

  await page.click('#accept');
  const anonymousId = await page.evaluate(() => funnelhouse.state().anonymousId);
  assert.match(anonymousId, /^[0-9a-f-]{36}$/);
  const cookie = (await context.cookies(origin)).find((c) => c.name === 'fh_aid');
  assert.equal(cookie?.value, anonymousId, 'a first-party cookie on the shop');
  assert.equal(await page.evaluate(() => localStorage.getItem('fh_aid')), anonymousId);

  // Add to cart: how long until its row is in PostgreSQL (reported).
  await page.click('#add');
  const clicked = Date.now();
  const cartId = await page.evaluate(() => window.lastEventId);
  await until(`SELECT count(*) FROM events WHERE event_id = '${cartId}'`, '1', 15_000);
  console.log(`add_to_cart in PostgreSQL ${Date.now() - clicked} ms after the click`);

  await page.click('#to-cart');
  await page.waitForURL('**/cart');
  await page.click('#to-login');
  await page.waitForURL('**/login');
  await page.fill('#user', 'ann-tracker');
  await page.click('#login');
  await page.waitForURL('**/checkout');
  await page.click('#order');
  await page.waitForURL('**/thanks');
  await page.waitForFunction(() => funnelhouse.state().queued === 0);
  const ordered = Date.now();
  const beaconed = await beacons();
  // The last page's tracker met no retry and no refusal; the one rejection
  // it may have been told of is the order's page copy (source_not_allowed).
  const reported = await page.evaluate(() => window.problems || []);
  assert.deepEqual(reported.filter((p) => p.reason !== 'source_not_allowed'), []);
  await context.close();

  // What the pages sent: every message once, by fetch or by sendBeacon when
  // a page was left before its batch went out.
  const all = messages([...sent, ...beaconed]).sort((a, b) => a.originalTimestamp.localeCompare(b.originalTimestamp));
  const ids = [...new Set(all.map((m) => m.messageId))];
  assert.equal(ids.length, all.length, `no message was sent twice: ${JSON.stringify([...sent, ...beaconed].map((s) => [s.kind, s.messages.map((m) => `${m.type}:${m.event || ''}:${m.messageId.slice(0, 8)}`)]))}`);
  const names = all.map((m) => (m.type === 'track' ? m.event : m.type));
  assert.deepEqual(names, ['page', 'add_to_cart', 'page', 'page', 'identify', 'page', 'checkout_started', 'order_completed', 'page']);
  assert.ok(!names.includes('product_viewed'), 'the product view came before consent');

  // The order: the backend was handed the page's id and sent its copy first.
  assert.equal(shop.orders.length, 1);
  const [order] = shop.orders;
  assert.equal(order.status, 200, JSON.stringify(order.answer));
  const browserOrder = all.find((m) => m.event === 'order_completed');
  assert.equal(browserOrder.messageId, order.eventId);

  // PostgreSQL: one row per event; the order seen by both sources.
  await until(`SELECT count(*) FROM events WHERE event_id = ANY(${list(ids)})`, String(ids.length));
  await until(`SELECT count(*) FROM events WHERE event_id = '${order.eventId}' AND browser_received_at IS NOT NULL AND server_received_at IS NOT NULL`, '1');
  console.log(`the order in PostgreSQL with both copies ${Date.now() - ordered} ms after the last page's queue was empty`);
  assert.equal(q('SELECT count(*) FROM events'), String(ids.length), 'nothing else arrived');
  assert.deepEqual(rows(`SELECT event_name, user_id, properties->>'order_id', properties->>'cost' FROM events WHERE event_id = '${order.eventId}'`),
    [['order_completed', 'ann-tracker', 'ORD-1', '21']]);
  assert.equal(q(`SELECT count(*) FROM events WHERE event_name = 'order_completed'`), '1', 'the order counts once');
  // The page's copy of a server-only event was refused, and so marked the
  // row as seen by the browser.
  assert.equal(q(`SELECT reason FROM bad_events WHERE event_id = '${order.eventId}'`), 'source_not_allowed');
  assert.equal(q(`SELECT count(*) FROM bad_events`), '1');

  // One person: the anonymous events before the login belong to the user.
  assert.deepEqual(rows(`SELECT DISTINCT person_id FROM events_stitched WHERE event_id = ANY(${list(ids)})`), [['user:ann-tracker']]);
  assert.equal(q(`SELECT count(DISTINCT anonymous_id) FROM events WHERE event_id = ANY(${list(ids)}) AND anonymous_id IS NOT NULL`), '1');
  assert.equal(q(`SELECT anonymous_id FROM events WHERE event_id = '${cartId}'`), anonymousId);

  // The context the tracker adds, as stored.
  const [[context1]] = rows(`SELECT context FROM events WHERE event_name = 'page_view' ORDER BY occurred_at LIMIT 1`);
  const stored = JSON.parse(context1);
  assert.deepEqual(stored.campaign, { source: 'newsletter', medium: 'email', name: 'autumn' });
  assert.deepEqual(stored.consent, { categoryPreferences: { analytics: true } });
  assert.equal(stored.adIds.gclid, 'G-browser-1', 'the click id of the landing page');
  assert.deepEqual(stored.library, { name: 'funnelhouse.js', version: JSON.parse(readFileSync(join(root, 'clients/js/package.json'), 'utf8')).version });
  assert.equal(stored.page.path, '/product');
  assert.match(stored.userAgent, /Chrome/);
  assert.ok(stored.screen.width > 0 && stored.locale && stored.sessionId);
  assert.equal(q(`SELECT count(DISTINCT context->>'sessionId') FROM events WHERE event_id = ANY(${list(ids)})`), '1', 'one session');
  assert.deepEqual(problems, []);
});

test('closing the page right after an event: sendBeacon delivers it', async () => {
  const { context, sent, page } = await openBrowser('close');
  // Events wait a minute for their batch here, so only the page-close path
  // (sendBeacon; its request is not visible to the driver, and the tab's
  // notes close with it) can deliver them: the test checks that they arrive
  // and that no fetch carried them.
  await page.goto(`${shop.url}/product?flush=60000`);
  await page.click('#accept');
  await page.click('#add');
  const id = await page.evaluate(() => window.lastEventId);
  assert.equal(await page.evaluate(() => funnelhouse.state().queued), 2, 'the page view and add_to_cart wait');
  const closed = Date.now();
  await page.close({ runBeforeUnload: true });
  await until(`SELECT count(*) FROM events WHERE event_id = '${id}'`, '1');
  console.log(`add_to_cart in PostgreSQL ${Date.now() - closed} ms after the page closed`);
  assert.ok(!messages(sent).some((m) => m.messageId === id), 'not sent by fetch');
  assert.equal(q(`SELECT properties->>'product_id' FROM events WHERE event_id = '${id}'`), 'sku-1');
  await context.close();
});

test('a server outage: events wait in localStorage across pages, then arrive', async () => {
  const { context, page, problems } = await openBrowser('outage');
  await page.goto(`${shop.url}/product`);
  await page.click('#accept');
  await page.waitForFunction(() => funnelhouse.state().queued === 0);
  await stopServer();
  try {
    await page.click('#add');
    const id = await page.evaluate(() => window.lastEventId);
    await page.waitForFunction(() => funnelhouse.state().failures > 0, null, { timeout: 15_000 });
    const stored = async () => page.evaluate(() => JSON.parse(localStorage.getItem('fh_q') || '[]').map((m) => m.messageId));
    assert.deepEqual(await stored(), [id]);
    // The next page (its script from the browser's cache) takes the queue
    // over and adds its own page view.
    await page.click('#to-cart');
    await page.waitForURL('**/cart');
    await page.waitForFunction(() => funnelhouse.state().failures > 0, null, { timeout: 15_000 });
    const waiting = await stored();
    assert.equal(waiting.length, 2);
    assert.equal(waiting[0], id);
    assert.equal(q(`SELECT count(*) FROM events WHERE event_id = ANY(${list(waiting)})`), '0');
    await startServer();
    const back = Date.now();
    await until(`SELECT count(*) FROM events WHERE event_id = ANY(${list(waiting)})`, '2', 90_000);
    console.log(`both in PostgreSQL ${Date.now() - back} ms after the server came back`);
    await page.waitForFunction(() => localStorage.getItem('fh_q') === null && funnelhouse.state().queued === 0);
    assert.deepEqual(rows(`SELECT event_name FROM events WHERE event_id = ANY(${list(waiting)}) ORDER BY occurred_at`), [['add_to_cart'], ['page_view']]);
  } finally {
    await startServer(); // when a failure above left it stopped
    await context.close();
  }
  assert.deepEqual(problems, []);
});
