// A window-shaped object for the tracker's unit tests: a clock and timers
// the test moves by hand, localStorage and document.cookie that behave like
// a browser's (with switches to block them or fill them up), sendBeacon
// and fetch that record what they are given, and page events to fire.

export const START = Date.parse('2026-11-24T10:00:00.000Z');

// Storage shared by the "page loads" of one test: what a reload keeps.
export function browserState() {
  return { items: new Map(), cookies: new Map() };
}

export function fakeWindow({
  href = 'https://shop.example/products/blue-jacket?utm_source=newsletter&utm_medium=email&utm_campaign=autumn&colour=blue',
  state = browserState(),
  clock = { now: START },
  respond = () => new Response('{"accepted":1,"rejected":[]}', { status: 200 }),
  cookiesBlocked = false,
  storageBlocked = false,
  quota = Infinity, // characters localStorage may hold
  beaconAccepts = true,
} = {}) {
  const timers = new Map();
  let nextTimer = 1;
  const listeners = {};
  const requests = [];
  const beacons = [];
  let cookieWrites = 0;

  const location = new URL(href);
  class FakeDate extends Date {
    constructor(...args) { super(...(args.length ? args : [clock.now])); }
    static now() { return clock.now; }
  }

  const localStorage = {
    getItem(k) { if (storageBlocked) throw new Error('blocked'); return state.items.has(k) ? state.items.get(k) : null; },
    setItem(k, v) {
      if (storageBlocked) throw new Error('blocked');
      let used = 0;
      for (const [key, value] of state.items) if (key !== k) used += key.length + value.length;
      if (used + k.length + String(v).length > quota) {
        const error = new Error('The quota has been exceeded.');
        error.name = 'QuotaExceededError';
        throw error;
      }
      state.items.set(k, String(v));
    },
    removeItem(k) { if (storageBlocked) throw new Error('blocked'); state.items.delete(k); },
  };

  const document = {
    title: 'Blue jacket',
    referrer: 'https://search.example/?q=jacket',
    visibilityState: 'visible',
    // Only what a cookie write sets: name=value and max-age; the attributes
    // are kept to be read by the tests.
    get cookie() {
      if (cookiesBlocked) throw new Error('cookies blocked');
      return [...state.cookies].map(([k, c]) => `${k}=${c.value}`).join('; ');
    },
    set cookie(text) {
      if (cookiesBlocked) throw new Error('cookies blocked');
      cookieWrites += 1;
      const [pair, ...attributes] = text.split(';').map((p) => p.trim());
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const maxAge = attributes.find((a) => a.startsWith('max-age='));
      if (maxAge && Number(maxAge.slice(8)) <= 0) state.cookies.delete(name);
      else state.cookies.set(name, { value: pair.slice(at + 1), attributes });
    },
    addEventListener(type, fn) { (listeners[`document:${type}`] ||= []).push(fn); },
  };

  const win = {
    location,
    document,
    navigator: {
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) FakeBrowser/1.0',
      language: 'de-DE',
      sendBeacon(url, body) {
        beacons.push({ url, body: JSON.parse(body) });
        return beaconAccepts;
      },
    },
    screen: { width: 1440, height: 900 },
    devicePixelRatio: 2,
    localStorage,
    crypto: globalThis.crypto,
    Date: FakeDate,
    setTimeout(fn, ms) {
      const id = nextTimer++;
      timers.set(id, { at: clock.now + Math.max(0, ms || 0), fn });
      return id;
    },
    clearTimeout(id) { timers.delete(id); },
    fetch(url, init) {
      const request = { url, init, body: JSON.parse(init.body), at: clock.now };
      requests.push(request);
      try {
        const answer = respond(request, requests.length);
        return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    addEventListener(type, fn) { (listeners[`window:${type}`] ||= []).push(fn); },
  };

  // Lets promise callbacks (fetch answers and what follows them) run.
  async function settle() {
    for (let i = 0; i < 20; ++i) await new Promise((r) => setImmediate(r));
  }

  return {
    win,
    state,
    clock,
    requests,
    beacons,
    settle,
    // Moves the clock forward, running each timer that falls due in order.
    async advance(ms) {
      const end = clock.now + ms;
      await settle();
      for (;;) {
        const due = [...timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        clock.now = Math.max(clock.now, due[1].at);
        due[1].fn();
        await settle();
      }
      clock.now = end;
      await settle();
    },
    pendingTimers: () => timers.size,
    cookieWrites: () => cookieWrites,
    fire(target, type, fields = {}) {
      if (target === 'document' && type === 'visibilitychange') document.visibilityState = 'hidden';
      for (const fn of listeners[`${target}:${type}`] || []) fn({ type, ...fields });
    },
    listeners: (target, type) => (listeners[`${target}:${type}`] || []).length,
    // Every message the fake server received, in order.
    sent: () => requests.flatMap((r) => r.body.batch),
    stored: (key) => state.items.get(`fh_${key}`) ?? null,
    cookie: (key) => state.cookies.get(`fh_${key}`) ?? null,
  };
}
