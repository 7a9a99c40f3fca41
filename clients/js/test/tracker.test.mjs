// Unit tests of the tracker on a fake window (test/fake-window.mjs): ids,
// sessions, batching, retry rules, consent states, the queue's bounds and
// the page-close path. No network, no browser; the clock is moved by hand.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createTracker, VERSION } from '../src/tracker.js';
import { fakeWindow, browserState, START } from './fake-window.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const options = { host: 'https://collect.shop.example/', writeKey: 'browser-key' };
const MIN = 6e4;
const DAY_MS = 864e5;

// A tracker on a fake window, initialised with `extra` options.
function start(extra = {}, windowOptions = {}) {
  const fake = fakeWindow(windowOptions);
  const problems = [];
  const fh = createTracker(fake.win).init({ ...options, onError: (p) => problems.push(p), ...extra });
  return { fh, fake, problems };
}

const status = (code, headers = {}) => () => new Response(code === 200 ? '{"accepted":1,"rejected":[]}' : '{"error":"x","message":"y"}', { status: code, headers });

describe('ids', () => {
  test('an anonymous id is made on the first event and kept in a cookie and in localStorage', async () => {
    const { fh, fake } = start();
    assert.equal(fake.stored('aid'), null, 'nothing stored before an event');
    fh.track('add_to_cart', { product_id: 'p1' });
    const { anonymousId } = fh.state();
    assert.match(anonymousId, UUID);
    assert.equal(fake.stored('aid'), anonymousId);
    assert.equal(decodeURIComponent(fake.cookie('aid').value), anonymousId);
    assert.ok(fake.cookie('aid').attributes.includes('SameSite=Lax'));
    assert.ok(fake.cookie('aid').attributes.includes('Secure'), 'https pages get Secure cookies');
    assert.ok(fake.cookie('aid').attributes.includes(`max-age=${365 * 86400}`));
    await fake.advance(1000);
    assert.equal(fake.sent()[0].anonymousId, anonymousId);
  });

  test('a reload finds the id in the cookie, or in localStorage when the cookie is gone', () => {
    const state = browserState();
    const first = start({}, { state });
    first.fh.track('add_to_cart', { product_id: 'p1' });
    const id = first.fh.state().anonymousId;

    const second = start({}, { state });
    second.fh.track('add_to_cart', { product_id: 'p1' });
    assert.equal(second.fh.state().anonymousId, id);

    state.cookies.clear(); // a browser that capped the cookie's life
    const third = start({}, { state });
    third.fh.track('add_to_cart', { product_id: 'p1' });
    assert.equal(third.fh.state().anonymousId, id);
    assert.equal(decodeURIComponent(third.fake.cookie('aid').value), id, 'the cookie is written back');

    state.items.clear(); // localStorage cleared, the cookie restored above remains
    const fourth = start({}, { state });
    fourth.fh.track('add_to_cart', { product_id: 'p1' });
    assert.equal(fourth.fh.state().anonymousId, id);
  });

  test('the id cookies are written when an id is made or changes, not with every event', () => {
    const { fh, fake } = start();
    fh.track('add_to_cart', { product_id: 'p1' });
    const after = fake.cookieWrites();
    for (let i = 0; i < 5; ++i) fh.track('add_to_cart', { product_id: 'p1' });
    assert.equal(fake.cookieWrites(), after);
    fh.identify('user-1');
    assert.equal(fake.cookieWrites(), after + 2);
    assert.equal(decodeURIComponent(fake.cookie('uid').value), 'user-1');
  });

  test('with cookies blocked localStorage keeps the id; with both blocked events still go out', async () => {
    const state = browserState();
    const first = start({}, { state, cookiesBlocked: true });
    first.fh.track('add_to_cart', { product_id: 'p1' });
    const second = start({}, { state, cookiesBlocked: true });
    second.fh.track('add_to_cart', { product_id: 'p1' });
    assert.equal(second.fh.state().anonymousId, first.fh.state().anonymousId);

    const none = start({}, { cookiesBlocked: true, storageBlocked: true });
    const id = none.fh.track('add_to_cart', { product_id: 'p1' });
    await none.fake.advance(1000);
    assert.deepEqual(none.fake.sent().map((m) => m.messageId), [id]);
  });

  test('track returns the event id it sends; every event gets a new v4 UUID', async () => {
    const { fh, fake } = start();
    const ids = [fh.page(), fh.track('add_to_cart', { product_id: 'p1' }), fh.identify('u1'), fh.alias('u2')];
    for (const id of ids) assert.match(id, UUID);
    assert.equal(new Set(ids).size, 4);
    await fake.advance(1000);
    assert.deepEqual(fake.sent().map((m) => m.messageId), ids);
  });

  test('newEventId hands an id out first; track sends it as the messageId', async () => {
    const { fh, fake } = start();
    const id = fh.newEventId();
    assert.match(id, UUID);
    assert.equal(fh.track('order_completed', { order_id: 'o-1' }, { eventId: id }), id);
    await fake.advance(1000);
    assert.equal(fake.sent()[0].messageId, id);
    assert.equal(fake.sent()[0].event, 'order_completed');
  });

  test('without crypto.randomUUID (plain http pages) ids are still v4 UUIDs', () => {
    const fake = fakeWindow({ href: 'http://shop.example/' });
    fake.win.crypto = { getRandomValues: (a) => globalThis.crypto.getRandomValues(a) };
    const fh = createTracker(fake.win).init(options);
    const ids = new Set(Array.from({ length: 200 }, () => fh.newEventId()));
    assert.equal(ids.size, 200);
    for (const id of ids) assert.match(id, UUID);
    fh.track('add_to_cart', { product_id: 'p1' });
    assert.ok(!fake.cookie('aid').attributes.includes('Secure'), 'http pages cannot set Secure cookies');
  });

  test('identify keeps the user id for later events; alias links the previous id; reset forgets both', async () => {
    const state = browserState();
    const { fh, fake } = start({}, { state });
    fh.track('add_to_cart', { product_id: 'p1' });
    const anonymous = fh.state().anonymousId;
    fh.identify('user-7', { plan: 'pro' });
    fh.track('checkout_started', { value: 10, currency: 'EUR' });
    fh.alias('user-8');
    fh.reset();
    fh.track('add_to_cart', { product_id: 'p2' });
    await fake.advance(1000);
    const [cart, identify, checkout, alias, after] = fake.sent();
    assert.equal(cart.userId, undefined);
    assert.deepEqual([identify.type, identify.userId, identify.anonymousId, identify.traits], ['identify', 'user-7', anonymous, { plan: 'pro' }]);
    assert.equal(checkout.userId, 'user-7');
    assert.deepEqual([alias.type, alias.previousId, alias.userId], ['alias', 'user-7', 'user-8']);
    assert.equal(after.userId, undefined);
    assert.notEqual(after.anonymousId, anonymous, 'a logout starts a new anonymous id');
    assert.notEqual(after.context.sessionId, cart.context.sessionId);
    // A reload after identify keeps the user id.
    const other = start({}, { state: browserState() });
    other.fh.identify('user-9');
    const reloaded = start({}, { state: other.fake.state });
    reloaded.fh.track('add_to_cart', { product_id: 'p3' });
    assert.equal(reloaded.fh.state().userId, 'user-9');
  });
});

describe('sessions', () => {
  test('a session lasts while events come less than 30 minutes apart, and survives a reload', async () => {
    const state = browserState();
    const clock = { now: START };
    const { fh } = start({}, { state, clock });
    fh.track('add_to_cart', { product_id: 'p1' });
    const first = fh.state().sessionId;
    assert.match(first, UUID);
    for (let i = 0; i < 4; ++i) {
      clock.now += 29 * MIN;
      fh.track('add_to_cart', { product_id: 'p1' });
      assert.equal(fh.state().sessionId, first, `after ${(i + 1) * 29} minutes of activity`);
    }
    clock.now += 10 * MIN;
    const reloaded = start({}, { state, clock });
    reloaded.fh.track('add_to_cart', { product_id: 'p1' });
    assert.equal(reloaded.fh.state().sessionId, first);

    clock.now += 30 * MIN;
    reloaded.fh.track('add_to_cart', { product_id: 'p1' });
    const second = reloaded.fh.state().sessionId;
    assert.notEqual(second, first, '30 minutes without an event start a new session');
    assert.match(second, UUID);
  });

  test('tabs share the session: a tab that was idle goes on with the one another tab kept alive', () => {
    const state = browserState();
    const clock = { now: START };
    const a = start({}, { state, clock });
    const b = start({}, { state, clock });
    a.fh.track('add_to_cart', { product_id: 'p1' });
    b.fake.fire('window', 'storage', { key: 'fh_sid', newValue: state.items.get('fh_sid') });
    for (let i = 0; i < 4; ++i) {
      clock.now += 10 * MIN;
      a.fh.track('add_to_cart', { product_id: 'p1' });
      b.fake.fire('window', 'storage', { key: 'fh_sid', newValue: state.items.get('fh_sid') });
    }
    b.fh.track('add_to_cart', { product_id: 'p2' });
    assert.equal(b.fh.state().sessionId, a.fh.state().sessionId);
  });

  test('the session id travels in context.sessionId', async () => {
    const { fh, fake } = start();
    fh.page();
    await fake.advance(1000);
    assert.equal(fake.sent()[0].context.sessionId, fh.state().sessionId);
  });
});

describe('batching', () => {
  test('events within flushInterval go out together, as a simple text/plain request with the key in the body', async () => {
    const { fh, fake } = start();
    fh.page();
    await fake.advance(100);
    fh.track('add_to_cart', { product_id: 'p1' });
    fh.track('size_guide_opened', { product_id: 'p1' });
    await fake.advance(199);
    assert.equal(fake.requests.length, 0, 'nothing before flushInterval (300 ms)');
    await fake.advance(1);
    assert.equal(fake.requests.length, 1);
    const [request] = fake.requests;
    assert.equal(request.url, 'https://collect.shop.example/v1/batch');
    assert.equal(request.init.method, 'POST');
    assert.deepEqual(request.init.headers, { 'Content-Type': 'text/plain' });
    assert.equal(request.init.credentials, 'omit');
    assert.equal(request.init.keepalive, true);
    assert.equal(request.body.writeKey, 'browser-key');
    assert.equal(request.body.sentAt, new Date(START + 300).toISOString());
    assert.deepEqual(request.body.batch.map((m) => m.type), ['page', 'track', 'track']);
    assert.equal(request.body.batch[0].originalTimestamp, new Date(START).toISOString());
  });

  test('flushAt events go out at once; more wait for the next batch', async () => {
    const { fh, fake } = start({ flushAt: 3 });
    for (let i = 0; i < 7; ++i) fh.track('add_to_cart', { product_id: `p${i}` });
    await fake.settle();
    assert.equal(fake.requests.length, 1);
    assert.equal(fake.requests[0].body.batch.length, 3);
    await fake.advance(0);
    assert.equal(fake.requests.length, 2, 'a full queue goes out without waiting');
    await fake.advance(300);
    assert.deepEqual(fake.requests.map((r) => r.body.batch.length), [3, 3, 1]);
    assert.deepEqual(fake.sent().map((m) => m.properties.product_id), ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
    assert.equal(fh.state().queued, 0);
  });

  test('a batch stays under maxBatchBytes; an event over maxEventBytes is refused on the page', async () => {
    const { fh, fake, problems } = start({ maxBatchBytes: 4000, maxEventBytes: 3000 });
    for (let i = 0; i < 5; ++i) fh.track('add_to_cart', { product_id: `p${i}`, note: 'x'.repeat(1200) });
    assert.equal(fh.track('add_to_cart', { product_id: 'big', note: 'é'.repeat(1600) }), null); // 3,200 bytes in UTF-8
    const big = problems[0].event_id;
    await fake.advance(5000);
    assert.ok(fake.requests.length >= 2);
    for (const r of fake.requests) assert.ok(Buffer.byteLength(r.init.body) <= 4000, `${Buffer.byteLength(r.init.body)} bytes`);
    assert.equal(fake.sent().length, 5);
    assert.ok(!fake.sent().some((m) => m.messageId === big));
    assert.deepEqual(problems, [{ reason: 'event_too_large', event_id: big, limit: 3000 }]);
  });
});

describe('retries', () => {
  test('a 5xx is retried with a growing backoff until it is delivered', async () => {
    let failing = 3;
    const { fh, fake, problems } = start({}, { respond: (r, n) => (n <= failing ? status(503)() : status(200)()) });
    const id = fh.track('add_to_cart', { product_id: 'p1' });
    await fake.advance(300);
    assert.equal(fake.requests.length, 1);
    // Waits are 1 s, 2 s, 4 s, each with up to half taken off by jitter.
    const gaps = [];
    await fake.advance(60_000);
    for (let i = 1; i < fake.requests.length; ++i) gaps.push(fake.requests[i].at - fake.requests[i - 1].at);
    assert.equal(fake.requests.length, 4);
    for (const [i, gap] of gaps.entries()) {
      const full = 1000 * 2 ** i;
      assert.ok(gap >= full / 2 && gap <= full, `retry ${i + 1} after ${gap} ms`);
    }
    for (const r of fake.requests) assert.deepEqual(r.body.batch.map((m) => m.messageId), [id]);
    assert.equal(fh.state().queued, 0);
    assert.equal(fh.state().failures, 0);
    assert.deepEqual(problems.map((p) => [p.reason, p.status, p.attempt]), [['retrying', 503, 1], ['retrying', 503, 2], ['retrying', 503, 3]]);
  });

  test('the backoff stops growing at retryMax', async () => {
    const { fh, fake } = start({ retryMax: 5000 }, { respond: status(500) });
    fh.track('add_to_cart', { product_id: 'p1' });
    await fake.advance(60_300);
    const gaps = fake.requests.slice(1).map((r, i) => r.at - fake.requests[i].at);
    assert.ok(gaps.length >= 12, `${gaps.length} retries in a minute`);
    assert.ok(Math.max(...gaps) <= 5000);
  });

  test('a 429 waits as long as Retry-After says, in seconds or as a date', async () => {
    // The first request goes out at START + 300 ms.
    for (const [retryAfter, due] of [['7', START + 7300], [new Date(START + 8000).toUTCString(), START + 8000]]) {
      const { fh, fake } = start({}, { respond: (r, n) => (n === 1 ? status(429, { 'Retry-After': retryAfter })() : status(200)()) });
      fh.track('add_to_cart', { product_id: 'p1' });
      await fake.advance(due - 1 - START);
      assert.equal(fake.requests.length, 1, `not before Retry-After (${retryAfter})`);
      await fake.advance(1);
      assert.equal(fake.requests.length, 2);
      assert.equal(fake.requests[1].at, due);
      assert.equal(fh.state().queued, 0);
    }
  });

  test('Retry-After never shortens the backoff: a server that always says 1 s still sees it grow', async () => {
    const { fh, fake } = start({}, { respond: status(503, { 'Retry-After': '1' }) });
    fh.track('add_to_cart', { product_id: 'p1' });
    await fake.advance(60_300);
    const gaps = fake.requests.slice(1).map((r, i) => r.at - fake.requests[i].at);
    assert.ok(gaps.every((gap) => gap >= 1000), gaps.join());
    assert.ok(gaps[4] >= 8000, `the fifth wait is at least half of 16 s: ${gaps.join()}`);
    assert.ok(fake.requests.length <= 10, `${fake.requests.length} requests in a minute`);
  });

  test('a Retry-After that is neither seconds nor a date is ignored; a far one is capped at an hour', async () => {
    for (const [value, most] of [['1.5', 1000], ['0', 1000], ['soon', 1000], [String(10 * 86400), 36e5]]) {
      const { fh, fake } = start({}, { respond: (r, n) => (n === 1 ? status(429, { 'Retry-After': value })() : status(200)()) });
      fh.track('add_to_cart', { product_id: 'p1' });
      await fake.advance(300);
      await fake.advance(most);
      assert.equal(fake.requests.length, 2, `Retry-After: ${value}`);
      assert.ok(fake.requests[1].at - fake.requests[0].at >= (most === 1000 ? 500 : most), value);
    }
  });

  test('a network error is retried', async () => {
    const { fh, fake, problems } = start({}, { respond: (r, n) => (n === 1 ? new TypeError('Failed to fetch') : status(200)()) });
    const id = fh.track('add_to_cart', { product_id: 'p1' });
    await fake.advance(2000);
    assert.deepEqual(fake.requests.map((r) => r.body.batch[0].messageId), [id, id]);
    assert.equal(problems[0].status, 0);
    assert.match(problems[0].message, /Failed to fetch/);
  });

  test('another 4xx is never retried; the batch is given up and reported', async () => {
    for (const code of [400, 401, 403, 413]) {
      const { fh, fake, problems } = start({}, { respond: status(code) });
      fh.track('add_to_cart', { product_id: 'p1' });
      await fake.advance(120_000);
      assert.equal(fake.requests.length, 1, `${code} is not retried`);
      assert.equal(fh.state().queued, 0);
      assert.equal(fake.stored('q'), null, 'nor kept for the next page');
      assert.equal(problems[0].reason, 'refused');
      assert.equal(problems[0].status, code);
    }
  });

  test('events the server rejected (200) are reported and not sent again', async () => {
    const answer = { accepted: 0, rejected: [{ index: 0, event_id: 'x', reason: 'schema_violation', errors: [{ path: '/properties/product_id', message: 'missing' }] }] };
    const { fh, fake, problems } = start({}, { respond: () => new Response(JSON.stringify(answer), { status: 200 }) });
    fh.track('add_to_cart', {});
    await fake.advance(60_000);
    assert.equal(fake.requests.length, 1);
    assert.deepEqual(problems, [{ reason: 'schema_violation', event_id: 'x', errors: answer.rejected[0].errors, status: 200 }]);
  });

  test('back online, the tracker does not wait out its backoff', async () => {
    let up = false;
    const { fh, fake } = start({}, { respond: () => (up ? status(200)() : new TypeError('offline')) });
    fh.track('add_to_cart', { product_id: 'p1' });
    for (let i = 0; i < 6; ++i) await fake.advance(20_000); // backoff now up to a minute
    const before = fake.requests.length;
    up = true;
    fake.fire('window', 'online');
    await fake.settle();
    assert.equal(fake.requests.length, before + 1);
    assert.equal(fh.state().queued, 0);
  });
});

describe('consent', () => {
  test('required and not given: nothing is sent and nothing is stored', async () => {
    const { fh, fake } = start({ consent: { required: true } });
    assert.equal(fh.page(), null);
    assert.equal(fh.track('add_to_cart', { product_id: 'p1' }), null);
    assert.equal(fh.identify('user-1', { email: 'a@b.example' }), null);
    assert.equal(fh.alias('user-2'), null);
    await fake.advance(60_000);
    fake.fire('document', 'visibilitychange');
    fake.fire('window', 'pagehide');
    assert.equal(fake.requests.length, 0);
    assert.equal(fake.beacons.length, 0);
    assert.equal(fake.state.cookies.size, 0);
    assert.equal(fake.state.items.size, 0);
    assert.deepEqual([fh.state().anonymousId, fh.state().userId], [null, null]);
  });

  test('granting consent starts tracking from then on, with the state in context.consent', async () => {
    const state = browserState();
    const { fh, fake } = start({ consent: { required: true } }, { state });
    fh.track('add_to_cart', { product_id: 'before' });
    assert.equal(fh.consent(true), true);
    const id = fh.track('add_to_cart', { product_id: 'after' });
    await fake.advance(1000);
    assert.deepEqual(fake.sent().map((m) => m.messageId), [id]);
    assert.deepEqual(fake.sent()[0].context.consent, { categoryPreferences: { analytics: true } });
    assert.equal(fake.stored('aid'), fh.state().anonymousId);
    // The next page remembers the choice.
    const next = start({ consent: { required: true } }, { state });
    assert.notEqual(next.fh.track('add_to_cart', { product_id: 'next' }), null);
    assert.equal(next.fh.state().anonymousId, fh.state().anonymousId);
  });

  test('category preferences with the consent manager\'s own category name', async () => {
    const { fh, fake } = start({ consent: { required: true, category: 'C0002', categories: { C0001: true, C0002: false } } });
    assert.equal(fh.track('add_to_cart', { product_id: 'p1' }), null);
    fh.consent({ C0001: true, C0002: true, C0004: false });
    fh.track('add_to_cart', { product_id: 'p1' });
    await fake.advance(1000);
    assert.deepEqual(fake.sent()[0].context.consent, { categoryPreferences: { C0001: true, C0002: true, C0004: false } });
  });

  test('withdrawing consent deletes the stored ids and queue, and nothing more is sent', async () => {
    const { fh, fake } = start({ consent: { required: true, granted: true } }, { respond: status(503) });
    fh.identify('user-1');
    fh.track('add_to_cart', { product_id: 'p1' });
    await fake.advance(1000);
    assert.ok(fake.requests.length >= 1);
    assert.notEqual(fake.stored('q'), null);
    assert.notEqual(fake.cookie('uid'), null);
    fh.consent(false);
    const sent = fake.requests.length;
    await fake.advance(120_000);
    fake.fire('window', 'pagehide');
    assert.equal(fake.requests.length, sent, 'no retry after the withdrawal');
    assert.equal(fake.beacons.length, 0);
    assert.equal(fh.state().queued, 0);
    for (const key of ['aid', 'uid', 'sid', 'q']) assert.equal(fake.stored(key), null, key);
    assert.equal(fake.state.cookies.size, 0);
    assert.equal(fake.stored('consent'), '{"analytics":false}', 'only the choice is remembered');
    assert.equal(fh.track('add_to_cart', { product_id: 'p2' }), null);
  });

  test('denied where consent is not required: events go out marked, with an id that is never stored', async () => {
    const { fh, fake } = start({ consent: { granted: false } });
    fh.identify('user-1');
    const id = fh.track('add_to_cart', { product_id: 'p1' });
    await fake.advance(1000);
    const [identify, cart] = fake.sent();
    assert.equal(cart.messageId, id);
    assert.deepEqual(cart.context.consent, { categoryPreferences: { analytics: false } });
    assert.match(cart.anonymousId, UUID);
    assert.equal(identify.context.consent.categoryPreferences.analytics, false);
    assert.equal(fake.state.cookies.size, 0);
    assert.deepEqual([...fake.state.items.keys()], [], 'nothing in localStorage');
  });

  test('unstated where consent is not required: tracked, and context.consent is left out', async () => {
    const { fh, fake } = start();
    fh.track('add_to_cart', { product_id: 'p1' });
    await fake.advance(1000);
    assert.equal(fake.sent()[0].context.consent, undefined);
    assert.equal(fh.state().granted, true);
  });

  test('a choice made in another tab is followed by this one', async () => {
    const state = browserState();
    const a = start({ consent: { required: true } }, { state });
    const b = start({ consent: { required: true } }, { state });
    a.fh.consent(true);
    b.fake.fire('window', 'storage', { key: 'fh_consent', newValue: state.items.get('fh_consent') });
    assert.notEqual(b.fh.track('add_to_cart', { product_id: 'p1' }), null, 'granted in tab a');
    a.fh.consent(false);
    b.fake.fire('window', 'storage', { key: 'fh_consent', newValue: state.items.get('fh_consent') });
    assert.equal(b.fh.track('add_to_cart', { product_id: 'p2' }), null, 'withdrawn in tab a');
    assert.deepEqual([b.fh.state().queued, b.fh.state().anonymousId], [0, null], 'tab b forgot too');
    assert.equal(state.items.has('fh_aid'), false);
    assert.equal(state.items.has('fh_q'), false);
    await b.fake.advance(1000);
    assert.equal(b.fake.requests.length, 0);
  });

  test('a logout in another tab is not undone by this one', () => {
    const state = browserState();
    const a = start({}, { state });
    const b = start({}, { state });
    a.fh.identify('user-1');
    b.fake.fire('window', 'storage', { key: 'fh_uid', newValue: 'user-1' });
    a.fh.reset();
    b.fake.fire('window', 'storage', { key: 'fh_uid', newValue: null });
    b.fake.fire('window', 'storage', { key: 'fh_aid', newValue: null });
    b.fh.track('add_to_cart', { product_id: 'p1' });
    assert.equal(b.fh.state().userId, null);
    assert.equal(state.items.has('fh_uid'), false);
  });

  test('a stated choice from init overrides the remembered one', () => {
    const state = browserState();
    start({ consent: { required: true } }, { state }).fh.consent(true);
    const denied = start({ consent: { required: true, granted: false } }, { state });
    assert.equal(denied.fh.track('add_to_cart', { product_id: 'p1' }), null);
    assert.equal(state.items.has('fh_aid'), false);
  });
});

describe('the queue', () => {
  test('survives a reload while the server is down, then is delivered once it is back', async () => {
    const state = browserState();
    let up = false;
    const respond = () => (up ? status(200)() : new TypeError('Failed to fetch'));
    const first = start({}, { state, respond });
    const ids = [first.fh.page(), first.fh.track('add_to_cart', { product_id: 'p1' })];
    await first.fake.advance(5000);
    assert.ok(first.fake.requests.length >= 2);
    assert.deepEqual(JSON.parse(first.fake.stored('q')).map((m) => m.messageId), ids);
    first.fake.fire('window', 'pagehide');
    assert.equal(first.fake.beacons.length, 0, 'no beacon into a failing server');

    up = true;
    const second = start({}, { state, respond });
    const third = second.fh.track('add_to_cart', { product_id: 'p2' });
    await second.fake.advance(1000);
    assert.deepEqual(second.fake.sent().map((m) => m.messageId), [...ids, third]);
    assert.equal(second.fake.stored('q'), null);
  });

  test('holds at most maxQueue events, dropping the oldest', async () => {
    const { fh, fake, problems } = start({ maxQueue: 5 }, { respond: status(503) });
    for (let i = 0; i < 8; ++i) fh.track('add_to_cart', { product_id: `p${i}` });
    assert.equal(fh.state().queued, 5);
    assert.equal(fh.state().dropped, 3);
    assert.deepEqual(JSON.parse(fake.stored('q')).map((m) => m.properties.product_id), ['p3', 'p4', 'p5', 'p6', 'p7']);
    assert.deepEqual(problems.filter((p) => p.reason === 'queue_full').map((p) => p.dropped), [1, 1, 1]);
  });

  test('when localStorage is full the newest events are kept', () => {
    const { fh, fake } = start({}, { respond: status(503), quota: 6000 });
    for (let i = 0; i < 12; ++i) fh.track('add_to_cart', { product_id: `p${i}` });
    const kept = JSON.parse(fake.stored('q'));
    assert.ok(kept.length > 0 && kept.length < 12, `${kept.length} kept`);
    assert.equal(kept.at(-1).properties.product_id, 'p11');
    assert.equal(fh.state().queued, 12, 'the page still holds them all');
  });

  test('two tabs sharing localStorage keep each other\'s events', () => {
    const state = browserState();
    const a = start({}, { state, respond: status(503) });
    const b = start({}, { state, respond: status(503) });
    const idA = a.fh.track('add_to_cart', { product_id: 'a' });
    const idB = b.fh.track('add_to_cart', { product_id: 'b' });
    a.fh.track('add_to_cart', { product_id: 'a2' });
    const stored = JSON.parse(state.items.get('fh_q')).map((m) => m.messageId);
    assert.ok(stored.includes(idA) && stored.includes(idB));
    assert.equal(stored.length, 3);
  });
});

describe('leaving the page', () => {
  test('a hidden or closing page hands its queue to sendBeacon', async () => {
    const { fh, fake } = start();
    const ids = [fh.page(), fh.track('add_to_cart', { product_id: 'p1' })];
    fake.fire('document', 'visibilitychange');
    assert.equal(fake.requests.length, 0);
    assert.equal(fake.beacons.length, 1);
    assert.equal(fake.beacons[0].url, 'https://collect.shop.example/v1/batch');
    assert.equal(fake.beacons[0].body.writeKey, 'browser-key');
    assert.deepEqual(fake.beacons[0].body.batch.map((m) => m.messageId), ids);
    assert.equal(fh.state().queued, 0);
    assert.equal(fake.stored('q'), null);
    await fake.advance(1000);
    assert.equal(fake.requests.length, 0, 'nothing is sent twice');
  });

  test('a batch in flight is not beaconed, nor left for the next page; a refused beacon is', async () => {
    let answer;
    const { fh, fake } = start({ flushAt: 1 }, { beaconAccepts: false, respond: () => new Promise((r) => { answer = r; }) });
    const inFlight = fh.track('add_to_cart', { product_id: 'p1' });
    const waiting = fh.track('add_to_cart', { product_id: 'p2' });
    assert.equal(fake.requests[0].init.keepalive, true);
    fake.fire('window', 'pagehide');
    assert.equal(fake.beacons.length, 1);
    assert.deepEqual(fake.beacons[0].body.batch.map((m) => m.messageId), [waiting]);
    // keepalive lets the request outlive the page: the next page would only
    // send it again.
    assert.deepEqual(JSON.parse(fake.stored('q')).map((m) => m.messageId), [waiting], 'the refused beacon\'s event is kept for the next page');
    // The page lived on after all (it was only hidden) and the request failed:
    // the event is still the page's to send, and stored again.
    answer(status(503)());
    await fake.settle();
    assert.equal(fh.state().queued, 2);
    assert.deepEqual(JSON.parse(fake.stored('q')).map((m) => m.messageId), [inFlight, waiting]);
  });

  test('a keepalive request that fails as the page unloads is not left for the next page', async () => {
    const state = browserState();
    let fail;
    const first = start({ flushAt: 1 }, { state, respond: () => new Promise((resolve, reject) => { fail = reject; }) });
    first.fh.track('add_to_cart', { product_id: 'p1' });
    first.fake.fire('window', 'pagehide');
    fail(new TypeError('Failed to fetch')); // what chromium reports, while it delivers the request
    await first.fake.settle();
    assert.equal(first.fake.stored('q'), null);
    const next = start({}, { state });
    await next.fake.advance(1000);
    assert.equal(next.fake.requests.length, 0);
  });

  test('a retry in flight while the server is failing stays stored when the page is left', async () => {
    let fail;
    let attempt = 0;
    const { fh, fake } = start({}, { respond: () => (++attempt === 1 ? new TypeError('Failed to fetch') : new Promise((resolve, reject) => { fail = reject; })) });
    const id = fh.track('add_to_cart', { product_id: 'p1' });
    await fake.advance(2000); // the first attempt failed; the retry is in flight
    assert.equal(attempt, 2);
    fake.fire('window', 'pagehide');
    fail(new TypeError('Failed to fetch'));
    await fake.settle();
    assert.deepEqual(JSON.parse(fake.stored('q')).map((m) => m.messageId), [id]);
  });

  test('beacons are split to stay under maxBatchBytes', () => {
    const { fh, fake } = start({ maxBatchBytes: 3000 });
    for (let i = 0; i < 6; ++i) fh.track('add_to_cart', { product_id: `p${i}`, note: 'x'.repeat(1000) });
    fake.fire('window', 'pagehide');
    assert.ok(fake.beacons.length >= 3);
    for (const b of fake.beacons) assert.ok(Buffer.byteLength(JSON.stringify(b.body)) <= 3000);
    assert.equal(fake.beacons.flatMap((b) => b.body.batch).length, 6);
    assert.equal(fh.state().queued, 0);
  });
});

describe('context', () => {
  test('page, campaign, screen, locale, user agent, time zone and library', async () => {
    const { fh, fake } = start();
    fh.page('Product', { category: 'jackets' });
    await fake.advance(1000);
    const [page] = fake.sent();
    assert.equal(page.name, 'Product');
    assert.deepEqual(page.properties, {
      path: '/products/blue-jacket',
      url: 'https://shop.example/products/blue-jacket?utm_source=newsletter&utm_medium=email&utm_campaign=autumn&colour=blue',
      title: 'Blue jacket',
      referrer: 'https://search.example/?q=jacket',
      search: '?utm_source=newsletter&utm_medium=email&utm_campaign=autumn&colour=blue',
      category: 'jackets',
    });
    const { context } = page;
    assert.deepEqual(context.page, { path: page.properties.path, url: page.properties.url, title: 'Blue jacket', referrer: page.properties.referrer, search: page.properties.search });
    assert.deepEqual(context.campaign, { source: 'newsletter', medium: 'email', name: 'autumn' });
    assert.deepEqual(context.screen, { width: 1440, height: 900, density: 2 });
    assert.equal(context.locale, 'de-DE');
    assert.equal(context.userAgent, 'Mozilla/5.0 (X11; Linux x86_64) FakeBrowser/1.0');
    assert.equal(typeof context.timezone, 'string');
    assert.deepEqual(context.library, { name: 'funnelhouse.js', version: VERSION });
  });

  test('no campaign without UTM parameters; extra context (a pinned contract) is merged', async () => {
    const { fh, fake } = start({}, { href: 'https://shop.example/cart' });
    fh.track('add_to_cart', { product_id: 'p1' }, { context: { schema: 'add_to_cart/1-0-0' } });
    await fake.advance(1000);
    assert.equal(fake.sent()[0].context.campaign, undefined);
    assert.equal(fake.sent()[0].context.schema, 'add_to_cart/1-0-0');
  });

  test('click ids from the landing URL and the ad platforms\' cookies, kept for 90 days', async () => {
    const state = browserState();
    const landing = start({}, { state, href: 'https://shop.example/?gclid=G-1&fbclid=F-1&utm_source=ads' });
    landing.fake.win.document.cookie = '_fbp=fb.1.1700000000000.42; path=/';
    landing.fake.win.document.cookie = '_ga=GA1.1.123456789.1700000000; path=/';
    landing.fh.page();
    await landing.fake.advance(1000);
    const at = landing.fake.win.Date.now() - 1000;
    assert.deepEqual(landing.fake.sent()[0].context.adIds, {
      gclid: 'G-1', fbc: `fb.1.${at}.F-1`, fbp: 'fb.1.1700000000000.42', gaClientId: '123456789.1700000000',
    });
    // A later page without them still carries the click's ids, with the
    // time it was first seen.
    const later = start({}, { state, href: 'https://shop.example/cart', clock: { now: at + 30 * DAY_MS } });
    later.fh.track('add_to_cart', { product_id: 'p1' });
    await later.fake.advance(1000);
    assert.equal(later.fake.sent()[0].context.adIds.gclid, 'G-1');
    assert.equal(later.fake.sent()[0].context.adIds.fbc, `fb.1.${at}.F-1`);
    // After 90 days the click is forgotten; the cookies remain.
    const expired = start({}, { state, href: 'https://shop.example/cart', clock: { now: at + 91 * DAY_MS } });
    expired.fh.track('add_to_cart', { product_id: 'p1' });
    await expired.fake.advance(1000);
    assert.deepEqual(expired.fake.sent()[0].context.adIds, { fbp: 'fb.1.1700000000000.42', gaClientId: '123456789.1700000000' });
  });

  test('no ad ids without consent, and withdrawing consent forgets the click', async () => {
    const state = browserState();
    const granted = start({ consent: { required: true, granted: true } }, { state, href: 'https://shop.example/?gclid=G-2' });
    granted.fh.page();
    await granted.fake.advance(1000);
    assert.equal(granted.fake.sent()[0].context.adIds.gclid, 'G-2');
    granted.fh.consent(false);
    assert.equal(granted.fake.stored('ads'), null);
    const denied = start({}, { href: 'https://shop.example/?gclid=G-3' });
    denied.fh.consent(false);
    denied.fh.page();
    await denied.fake.advance(1000);
    assert.equal(denied.fake.sent()[0].context.adIds, undefined);
    assert.equal(denied.fake.stored('ads'), null);
  });

  test('the library version is the package\'s', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    assert.equal(VERSION, pkg.version);
  });
});

describe('misuse', () => {
  test('init needs host and writeKey; calls before init say so', () => {
    const fake = fakeWindow();
    const fh = createTracker(fake.win);
    assert.throws(() => fh.track('add_to_cart'), /call init\(\) first/);
    assert.throws(() => fh.init({ host: 'https://x.example' }), /needs host and writeKey/);
    assert.throws(() => fh.init({ writeKey: 'k' }), /needs host and writeKey/);
  });

  test('options given as undefined keep their defaults', async () => {
    const { fh, fake } = start({ flushInterval: undefined, flushAt: undefined });
    fh.track('add_to_cart', { product_id: 'p1' });
    await fake.advance(299);
    assert.equal(fake.requests.length, 0);
    await fake.advance(1);
    assert.equal(fake.requests.length, 1);
  });

  test('a second init does not add its page listeners twice, nor lose what the first had', () => {
    const { fh, fake } = start({}, { storageBlocked: true, cookiesBlocked: true, beaconAccepts: false });
    fh.identify('u1');
    fh.track('add_to_cart', { product_id: 'p1' });
    const before = fh.state();
    fh.init(options);
    for (const type of ['pagehide', 'online', 'storage', 'pageshow']) assert.equal(fake.listeners('window', type), 1, type);
    assert.equal(fake.listeners('document', 'visibilitychange'), 1);
    assert.deepEqual([fh.state().anonymousId, fh.state().userId, fh.state().queued], [before.anonymousId, 'u1', 2]);
  });

  test('state works before init; every other call says init() comes first', () => {
    const fh = createTracker(fakeWindow().win);
    assert.equal(fh.state().granted, false);
    assert.match(fh.newEventId(), UUID);
    for (const call of [() => fh.page(), () => fh.identify('u'), () => fh.alias('u'), () => fh.reset(), () => fh.consent(true)]) {
      assert.throws(call, /call init\(\) first/);
    }
  });

  test('a damaged stored queue is ignored, not thrown into the page', async () => {
    for (const damaged of ['{"a":1}', '"text"', 'not json']) {
      const state = browserState();
      state.items.set('fh_q', damaged);
      const { fh, fake } = start({}, { state });
      const id = fh.track('add_to_cart', { product_id: 'p1' });
      await fake.advance(1000);
      assert.deepEqual(fake.sent().map((m) => m.messageId), [id], damaged);
    }
  });

  test('an answer that is not the expected JSON does not stop later sending', async () => {
    const { fh, fake } = start({}, { respond: () => new Response('null', { status: 200 }) });
    fh.track('add_to_cart', { product_id: 'p1' });
    await fake.advance(1000);
    fh.track('add_to_cart', { product_id: 'p2' });
    await fake.advance(1000);
    assert.equal(fake.requests.length, 2);
  });
});
