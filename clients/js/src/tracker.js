// The Funnelhouse browser tracker: Segment-format messages, first-party ids,
// consent, and delivery that survives failures and page closes.
//
// createTracker(win) works on any object shaped like `window` (location,
// document, navigator, screen, localStorage, fetch, crypto, timers, Date),
// so the unit tests run it on a fake window with a clock they control.

export const VERSION = '1.0.0';

const PREFIX = 'fh_';
const DAY = 864e5;
const CAMPAIGN = { utm_campaign: 'name', utm_source: 'source', utm_medium: 'medium', utm_term: 'term', utm_content: 'content' };
const CLICK_IDS = ['gclid', 'gbraid', 'wbraid', 'fbclid'];
const CLICK_DAYS = 90; // Google Ads' longest click-through window

const DEFAULTS = {
  flushAt: 20, // events per request
  flushInterval: 300, // ms an event may wait for others
  maxBatchBytes: 60000, // under the 64 KB that sendBeacon and keepalive allow
  maxEventBytes: 32000, // under the server's default FUNNELHOUSE_MAX_EVENT_BYTES (32,768)
  maxQueue: 1000, // events kept while the server cannot be reached
  retryBase: 1000, // first wait after a failure, doubled each time
  retryMax: 60000,
  sessionTimeout: 30 * 6e4,
  cookieDays: 365,
  cookieDomain: '',
};

export function createTracker(win) {
  const doc = win.document;
  const nav = win.navigator || {};
  const now = () => win.Date.now();

  let o; // the options of init()
  let url; // where batches go
  let prefs = null; // consent: category preferences, or null when unstated
  let anonymousId = null;
  let userId = null;
  let session = null; // [id, last activity]
  let queue = []; // messages not yet delivered, oldest first
  let sending = null; // the ids of the batch in flight
  let kept = false; // whether it was sent with keepalive (outlives the page)
  let left = false; // pagehide came: the page is unloading (or in the back-forward cache)
  const delivered = new Set(); // ids this page delivered (kept out of storage)
  let failures = 0;
  let waitUntil = 0;
  let timer = null;
  let timerAt = 0;
  let dropped = 0;

  // Storage. Every access may throw (blocked storage, private modes).
  const ls = {
    get: (k) => { try { return win.localStorage.getItem(PREFIX + k); } catch (e) { return null; } },
    set: (k, v) => {
      try {
        if (v == null) win.localStorage.removeItem(PREFIX + k);
        else win.localStorage.setItem(PREFIX + k, v);
        return true;
      } catch (e) { return false; }
    },
  };
  const readCookie = (name) => {
    try {
      for (const part of String(doc.cookie).split(';')) {
        const at = part.indexOf('=');
        if (part.slice(0, at).trim() === name) return decodeURIComponent(part.slice(at + 1).trim());
      }
    } catch (e) { /* none */ }
    return null;
  };
  const cookie = {
    get: (k) => readCookie(PREFIX + k),
    set: (k, v) => {
      try {
        doc.cookie = `${PREFIX}${k}=${v == null ? '' : encodeURIComponent(v)}; path=/; max-age=${v == null ? 0 : Math.round(o.cookieDays * 86400)}; SameSite=Lax`
          + (o.cookieDomain ? `; domain=${o.cookieDomain}` : '')
          + (win.location.protocol === 'https:' ? '; Secure' : '');
      } catch (e) { /* cookies blocked: localStorage holds it */ }
    },
  };
  // An identifier lives in a first-party cookie and in localStorage: either
  // one restores the other.
  const readId = (k) => cookie.get(k) || ls.get(k);
  const writeId = (k, v) => { cookie.set(k, v); ls.set(k, v); };
  const bytes = (text) => new TextEncoder().encode(text).length;

  const uuid = () => {
    const c = win.crypto;
    if (c.randomUUID) return c.randomUUID();
    // Pages over plain http have no randomUUID, but getRandomValues.
    const b = c.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    const h = [...b].map((x) => (x + 256).toString(16).slice(1)).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };

  // Consent. Unstated counts as given unless consent is required; a denial
  // without `required` still sends events, without any stored identifier,
  // so that the server keeps them anonymized (its consent policy).
  const need = () => { if (!o) throw new Error('funnelhouse: call init() first'); };
  const granted = () => !!o && (prefs ? prefs[o.consent.category || 'analytics'] === true : !o.consent.required);
  const silent = () => !granted() && !!o.consent.required;
  const list = (text) => { try { const v = JSON.parse(text); return Array.isArray(v) ? v : []; } catch (e) { return []; } };
  const sid = (text) => { const s = (text || '').split('.'); return s.length === 2 && Number(s[1]) ? [s[0], Number(s[1])] : null; };

  // Consent withdrawn: the ids, the session and every waiting event go, from
  // storage and from memory.
  function forget() {
    clearIds();
    ls.set('q', null);
    ls.set('ads', null);
    queue = [];
    if (timer) win.clearTimeout(timer);
    timer = null;
    failures = waitUntil = 0;
  }

  function clearIds() {
    for (const k of ['aid', 'uid', 'sid']) writeId(k, null);
    anonymousId = userId = session = null;
  }

  // The ids in memory, written to storage when consent allows it: when one
  // is made or changes, and once per page (restoring a cleared copy and
  // renewing the cookies' life).
  function save() {
    if (!granted()) return;
    writeId('aid', anonymousId);
    writeId('uid', userId);
  }

  function setConsent(state) {
    need();
    prefs = state === true || state === false ? { [o.consent.category || 'analytics']: state } : state ? { ...state } : null;
    // The choice itself is no identifier: remembered so later pages follow it.
    ls.set('consent', prefs && JSON.stringify(prefs));
    if (granted()) {
      anonymousId = anonymousId || readId('aid');
      userId = userId || readId('uid');
      save();
      persist();
    } else {
      forget();
    }
    return granted();
  }

  function ids() {
    if (!anonymousId) {
      anonymousId = uuid();
      save();
    }
    const t = now();
    if (!session || t - session[1] >= o.sessionTimeout) session = [uuid(), t];
    session[1] = t;
    if (granted()) ls.set('sid', session.join('.'));
  }

  function context(extra) {
    const loc = win.location;
    const scr = win.screen || {};
    const ctx = {
      library: { name: 'funnelhouse.js', version: VERSION },
      page: { path: loc.pathname, url: loc.href, title: doc.title, referrer: doc.referrer, search: loc.search },
      userAgent: nav.userAgent,
      locale: nav.language,
      screen: { width: scr.width, height: scr.height, density: win.devicePixelRatio },
      sessionId: session[0],
    };
    try { ctx.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { /* none */ }
    const campaign = {};
    for (const [key, value] of new URLSearchParams(loc.search)) if (CAMPAIGN[key]) campaign[CAMPAIGN[key]] = value;
    if (Object.keys(campaign).length) ctx.campaign = campaign;
    if (prefs) ctx.consent = { categoryPreferences: prefs };
    const ads = granted() && adIds();
    if (ads) ctx.adIds = ads;
    return { ...ctx, ...extra };
  }

  // What ad platforms match a conversion sent from the server on: the ids
  // of the click that brought the visitor (from the landing URL, kept for
  // CLICK_DAYS; fbclid in Meta's fbc form) and Meta's and Google Analytics'
  // browser cookies (_fbc, _fbp, _ga). Only with consent; null when none.
  function adIds() {
    const t = now();
    let clicks = null;
    try { clicks = JSON.parse(ls.get('ads')); } catch (e) { /* none */ }
    if (!clicks || !(t - clicks.at < CLICK_DAYS * DAY)) clicks = null;
    const found = {};
    for (const [key, value] of new URLSearchParams(win.location.search)) if (CLICK_IDS.includes(key) && value) found[key] = value;
    const landed = Object.keys(found).length > 0;
    if (landed && !(clicks && CLICK_IDS.every((k) => clicks[k] === found[k]))) {
      clicks = { ...found, at: t };
      ls.set('ads', JSON.stringify(clicks));
    }
    const ids = {};
    for (const key of ['gclid', 'gbraid', 'wbraid']) if (clicks && clicks[key]) ids[key] = clicks[key];
    if (clicks && clicks.fbclid) ids.fbc = `fb.1.${clicks.at}.${clicks.fbclid}`;
    const fbc = readCookie('_fbc'); // the Meta pixel's own, when it runs
    if (fbc) ids.fbc = fbc;
    const fbp = readCookie('_fbp');
    if (fbp) ids.fbp = fbp;
    const ga = (readCookie('_ga') || '').split('.'); // GA1.1.<random>.<seconds>
    if (ga.length >= 4) ids.gaClientId = ga.slice(-2).join('.');
    return Object.keys(ids).length ? ids : null;
  }

  // Builds, queues and returns the id of one message; null when nothing may
  // be sent.
  function send(type, fields, options) {
    need();
    if (silent()) return null;
    ids();
    const id = (options && options.eventId) || uuid();
    const message = {
      type,
      messageId: id,
      anonymousId,
      ...(userId ? { userId } : {}),
      originalTimestamp: new win.Date(now()).toISOString(),
      ...fields,
      context: context(options && options.context),
    };
    if (bytes(JSON.stringify(message)) > o.maxEventBytes) {
      report({ reason: 'event_too_large', event_id: id, limit: o.maxEventBytes });
      return null;
    }
    queue.push(message);
    trim();
    persist();
    if (queue.length >= o.flushAt) flush();
    else schedule(o.flushInterval);
    return id;
  }

  function report(problem) {
    if (o.onError) try { o.onError(problem); } catch (e) { /* the page's own */ }
  }

  function trim() {
    const over = queue.length - o.maxQueue;
    if (over > 0) {
      queue.splice(0, over);
      dropped += over;
      report({ reason: 'queue_full', dropped: over, limit: o.maxQueue });
    }
  }

  // The queue in localStorage, merged with what other tabs left there, less
  // what this page delivered (and `skip`). Only with consent.
  function persist(skip) {
    if (!granted()) return;
    const mine = new Set(queue.map((m) => m.messageId));
    let all = list(ls.get('q')).filter((m) => !mine.has(m.messageId) && !delivered.has(m.messageId)).concat(queue)
      .filter((m) => !(skip && skip.has(m.messageId))).slice(-o.maxQueue);
    while (all.length && !ls.set('q', JSON.stringify(all))) all = all.slice(Math.ceil(all.length / 2));
    if (!all.length) ls.set('q', null);
  }

  function schedule(delay) {
    const at = Math.max(now() + delay, waitUntil);
    if (timer && timerAt <= at) return;
    if (timer) win.clearTimeout(timer);
    timerAt = at;
    timer = win.setTimeout(() => { timer = null; flush(); }, at - now());
  }

  // The next batch: up to flushAt messages and maxBatchBytes, skipping ids.
  function batch(skip) {
    const out = [];
    let total = bytes(body([]));
    for (const m of queue) {
      if (skip && skip.has(m.messageId)) continue;
      const size = bytes(JSON.stringify(m)) + 1;
      if (out.length && (out.length >= o.flushAt || total + size > o.maxBatchBytes)) break;
      out.push(m);
      total += size;
    }
    return out;
  }
  const body = (messages) => JSON.stringify({ batch: messages, sentAt: new win.Date(now()).toISOString(), writeKey: o.writeKey });

  function done(messages) {
    const gone = new Set(messages.map((m) => m.messageId));
    for (const id of gone) delivered.add(id);
    // Only needed while other tabs may still store them: the latest suffice.
    for (const id of delivered) { if (delivered.size <= 5000) break; delivered.delete(id); }
    queue = queue.filter((m) => !gone.has(m.messageId));
    persist();
  }

  // Seconds or an HTTP date, at most an hour; null when absent or unreadable.
  function retryAfter(response) {
    const value = String((response.headers && response.headers.get('Retry-After')) || '').trim();
    const ms = /^\d+$/.test(value) ? Number(value) * 1000 : /[a-z]/i.test(value) ? win.Date.parse(value) - now() : NaN;
    return Number.isFinite(ms) ? Math.min(Math.max(0, ms), 36e5) : null;
  }

  function flush() {
    if (!o || silent() || sending || !queue.length) return;
    if (now() < waitUntil) return schedule(0);
    const messages = batch();
    sending = new Set(messages.map((m) => m.messageId));
    const text = body(messages);
    let request;
    try {
      // text/plain keeps it a simple request: no preflight; the key is in the body.
      kept = bytes(text) < 64000;
      request = win.fetch(url, { method: 'POST', body: text, headers: { 'Content-Type': 'text/plain' }, keepalive: kept, credentials: 'omit' });
    } catch (e) {
      request = Promise.reject(e);
    }
    return request.then(
      (response) => {
        const status = response.status;
        if (status >= 200 && status < 300) {
          failures = 0;
          done(messages);
          return response.json().then((answer) => {
            for (const r of (answer && answer.rejected) || []) report({ reason: r.reason, event_id: r.event_id, errors: r.errors, status });
          }, () => {});
        }
        if (status === 429 || status >= 500) return retry(retryAfter(response), status);
        // Any other 4xx will not change by sending the same again.
        done(messages);
        return response.text().then((t) => report({ reason: 'refused', status, message: t, events: messages.length }), () => {});
      },
      // A page that is unloading sees its keepalive request fail although
      // the browser still delivers it.
      (error) => (left && kept && failures === 0 ? done(messages) : retry(null, 0, error)),
    ).then(next, next);
  }

  function next() {
    sending = null;
    if (queue.length) schedule(queue.length >= o.flushAt ? 0 : o.flushInterval);
  }

  function retry(wait, status, error) {
    failures++;
    persist(); // what a page that was left took for delivered, if it lives on
    // Jitter spreads the pages a recovering server sees at once; Retry-After
    // can only make the wait longer.
    const backoff = Math.min(o.retryMax, o.retryBase * 2 ** (failures - 1)) * (0.5 + Math.random() / 2);
    waitUntil = now() + Math.max(backoff, wait || 0);
    report({ reason: 'retrying', status, attempt: failures, wait: waitUntil - now(), message: error && String(error) });
  }

  // The page is going away (or hidden, and may never come back): hand what
  // is waiting to sendBeacon, which outlives the page, as does a request in
  // flight with keepalive; neither is left for the next page to send again.
  // While the server is failing, everything stays in localStorage for the
  // next page instead.
  function leave() {
    if (!o || silent()) return;
    const healthy = failures === 0;
    if (healthy && nav.sendBeacon) {
      for (let messages = batch(sending); messages.length; messages = batch(sending)) {
        let ok = false;
        try { ok = nav.sendBeacon.call(nav, url, body(messages)); } catch (e) { /* ok stays false */ }
        if (!ok) break;
        done(messages);
      }
    }
    persist(healthy && kept ? sending : null);
  }

  return {
    init(options) {
      if (!options || !options.host || !options.writeKey) throw new Error('funnelhouse: init() needs host and writeKey');
      const first = !o;
      o = { ...DEFAULTS, consent: { ...options.consent } };
      for (const k in options) if (options[k] !== undefined && k !== 'consent') o[k] = options[k];
      url = `${String(o.host).replace(/\/+$/, '')}/v1/batch`;
      const c = o.consent;
      let stored = null;
      try { stored = JSON.parse(ls.get('consent')); } catch (e) { /* none */ }
      prefs = c.categories ? { ...c.categories } : typeof c.granted === 'boolean' ? { [c.category || 'analytics']: c.granted } : stored;
      if (granted()) {
        anonymousId = readId('aid') || anonymousId;
        userId = readId('uid') || userId;
        session = sid(ls.get('sid')) || session;
        save();
        const known = new Set(queue.map((m) => m.messageId));
        queue = queue.concat(list(ls.get('q')).filter((m) => m && !known.has(m.messageId))).slice(-o.maxQueue);
        if (queue.length) schedule(0);
      } else {
        forget();
      }
      if (first && win.addEventListener) {
        doc.addEventListener('visibilitychange', () => { if (doc.visibilityState === 'hidden') leave(); });
        win.addEventListener('pagehide', () => { left = true; leave(); });
        win.addEventListener('pageshow', () => { left = false; });
        // Back online: no reason to wait out the backoff.
        win.addEventListener('online', () => { waitUntil = 0; flush(); });
        // Another tab of the site changed the consent, logged out or went on
        // with the session: this one follows.
        win.addEventListener('storage', (e) => {
          if (e.key === PREFIX + 'consent') {
            try { prefs = JSON.parse(e.newValue); } catch (x) { prefs = null; }
            if (!granted()) forget();
          } else if (e.key === PREFIX + 'aid') {
            anonymousId = e.newValue;
          } else if (e.key === PREFIX + 'uid') {
            userId = e.newValue;
          } else if (e.key === PREFIX + 'sid') {
            const s = sid(e.newValue);
            if (s && (!session || s[1] >= session[1])) session = s;
          }
        });
      }
      return this;
    },
    page(name, properties, options) {
      const loc = win.location;
      const props = { path: loc.pathname, url: loc.href, title: doc.title, referrer: doc.referrer, search: loc.search, ...properties };
      return send('page', name ? { name, properties: props } : { properties: props }, options);
    },
    track(event, properties, options) {
      return send('track', { event, properties: properties || {} }, options);
    },
    identify(id, traits, options) {
      if (id != null && o && !silent()) {
        userId = String(id);
        save();
      }
      return send('identify', { traits: traits || {} }, options);
    },
    alias(id, previousId, options) {
      need();
      if (silent()) return null;
      ids();
      const previous = previousId || userId || anonymousId;
      userId = String(id);
      save();
      return send('alias', { previousId: previous }, options);
    },
    // Logout: a new anonymous id and session from the next event, no user id.
    reset() {
      need();
      clearIds();
    },
    newEventId: uuid,
    consent: setConsent,
    flush,
    state: () => ({ anonymousId, userId, sessionId: session && session[0], consent: prefs, granted: granted(), queued: queue.length, dropped, failures }),
  };
}
