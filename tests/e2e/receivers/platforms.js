// Loopback stand-ins for the ad platforms, a webhook receiver and a chat's
// incoming webhook (alerts), for the
// end-to-end tests: each checks the documented shape of what it receives
// (hashes recomputed here with Node's own crypto), records every arrival,
// and answers as its platform does. Faults are switched on through
// POST /_control; GET /_arrivals returns what arrived.
//
//   node platforms.js <port-file> [<cert.pem> <key.pem>]
//
// writes the platforms' port to <port-file> and the control port to
// <port-file>.control.
//
// Environment: WEBHOOK_KEY (base64 signing key), META_TOKEN, ADS_TOKEN,
// ADS_DEVELOPER, GA4_SECRET.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const https = require('https');

const [portFile, certFile, keyFile] = process.argv.slice(2);
const arrivals = [];  // {platform, key, item, at}
const refusals = [];  // shape errors found, with the platform
let faults = [];      // [{mode, count, retry_after}] applied in order

const hex64 = /^[0-9a-f]{64}$/;

function fault() {
  while (faults.length && faults[0].count <= 0) faults.shift();
  if (!faults.length) return null;
  faults[0].count -= 1;
  return faults[0];
}

function checkMeta(url, body, problems) {
  if (url.searchParams.get('access_token') !== process.env.META_TOKEN) problems.push('access_token');
  if (!Array.isArray(body.data) || body.data.length < 1 || body.data.length > 1000)
    problems.push('data: 1 to 1000 events');
  for (const e of body.data || []) {
    if (typeof e.event_name !== 'string') problems.push('event_name');
    if (!Number.isInteger(e.event_time)) problems.push('event_time: seconds');
    if (Date.now() / 1000 - e.event_time > 7 * 86400) problems.push('event_time: older than 7 days');
    if (typeof e.event_id !== 'string') problems.push('event_id');
    if (e.action_source !== 'website') problems.push('action_source');
    if (typeof e.event_source_url !== 'string') problems.push('event_source_url');
    const u = e.user_data || {};
    if (typeof u.client_user_agent !== 'string') problems.push('client_user_agent');
    for (const key of ['em', 'ph', 'external_id'])
      if (u[key] !== undefined && !(Array.isArray(u[key]) && u[key].every((h) => hex64.test(h))))
        problems.push(`user_data.${key}: SHA-256 hex`);
    for (const key of ['fbp', 'fbc', 'client_ip_address'])
      if (u[key] !== undefined && hex64.test(u[key])) problems.push(`user_data.${key}: not hashed`);
  }
  return (body.data || []).map((e) => ({ key: e.event_id, item: e }));
}

function checkGoogleAds(req, body, problems) {
  if (req.headers.authorization !== `Bearer ${process.env.ADS_TOKEN}`) problems.push('authorization');
  if (req.headers['developer-token'] !== process.env.ADS_DEVELOPER) problems.push('developer-token');
  if (body.partialFailure !== true) problems.push('partialFailure');
  const list = body.conversions || [];
  if (list.length < 1 || list.length > 2000) problems.push('conversions: 1 to 2000');
  for (const c of list) {
    if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d$/.test(c.conversionDateTime || ''))
      problems.push('conversionDateTime');
    if (!c.gclid && !c.gbraid && !c.wbraid) problems.push('a click id');
    if (typeof c.conversionAction !== 'string') problems.push('conversionAction');
  }
  return list.map((c) => ({ key: c.orderId, item: c }));
}

function checkGa4(url, body, problems) {
  if (url.searchParams.get('api_secret') !== process.env.GA4_SECRET) problems.push('api_secret');
  if (!url.searchParams.get('measurement_id')) problems.push('measurement_id');
  if (typeof body.client_id !== 'string') problems.push('client_id');
  const events = body.events || [];
  if (events.length < 1 || events.length > 25) problems.push('events: 1 to 25');
  for (const e of events)
    if (!/^[A-Za-z][A-Za-z0-9_]{0,39}$/.test(e.name || '')) problems.push('event name');
  return events.map((e) => ({ key: (e.params && e.params.transaction_id) || e.name, item: e }));
}

function checkWebhook(req, raw, body, problems) {
  const id = req.headers['webhook-id'];
  const ts = req.headers['webhook-timestamp'];
  const key = Buffer.from(process.env.WEBHOOK_KEY || '', 'base64');
  const expected = 'v1,' + crypto.createHmac('sha256', key).update(`${id}.${ts}.${raw}`).digest('base64');
  if (req.headers['webhook-signature'] !== expected) problems.push('webhook-signature');
  if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) problems.push('webhook-timestamp');
  // An alert's notice is keyed by its change and subject.
  const data = body.data || {};
  const alert = typeof body.type === 'string' && body.type.startsWith('alert.');
  if (alert && (typeof data.likely_cause !== 'string' || typeof data.dashboard_url !== 'string'))
    problems.push('alert: likely_cause and dashboard_url');
  return [{ key: alert ? `${body.type}:${data.subject}` : data.event_id, item: { id, body } }];
}

// A Slack-compatible incoming webhook: {"text": ...}, answered "ok" as Slack
// does. Keyed by the notice's first line.
function checkChat(body, problems) {
  if (typeof body.text !== 'string' || !body.text) problems.push('text');
  if (/[<>]/.test((body.text || '').replace(/<[^>]*>/g, ''))) problems.push('text: unescaped < or >');
  return [{ key: (body.text || '').split('\n')[0], item: body }];
}

function route(req, url, raw) {
  const body = JSON.parse(raw || '{}');
  const problems = [];
  let platform, items;
  if (/^\/[^/]+\/[^/]+\/events$/.test(url.pathname)) {
    platform = 'meta';
    items = checkMeta(url, body, problems);
  } else if (/^\/[^/]+\/customers\/\d+:uploadClickConversions$/.test(url.pathname)) {
    platform = 'google_ads';
    items = checkGoogleAds(req, body, problems);
  } else if (url.pathname === '/mp/collect') {
    platform = 'ga4';
    items = checkGa4(url, body, problems);
  } else if (url.pathname.startsWith('/hooks/')) {
    platform = 'webhook';
    items = checkWebhook(req, raw, body, problems);
  } else if (url.pathname.startsWith('/services/')) {
    platform = 'chat';
    items = checkChat(body, problems);
  } else {
    return { status: 404, body: { error: { message: 'no such endpoint' } } };
  }
  if (problems.length) {
    refusals.push({ platform, problems });
    return { status: 400, body: { error: { message: problems.join('; ') } } };
  }
  const answer = { status: 200, body: {} };
  if (platform === 'google_ads') {
    // Partial failure: conversions whose click id starts with "bad".
    const errors = items
      .map((it, index) => ({ it, index }))
      .filter(({ it }) => (it.item.gclid || '').startsWith('bad'))
      .map(({ index }) => ({
        message: 'The imported gclid could not be decoded.',
        location: { fieldPathElements: [{ fieldName: 'conversions', index }, { fieldName: 'gclid' }] },
      }));
    if (errors.length)
      answer.body.partialFailureError = {
        code: 3, message: 'partial failure',
        details: [{ '@type': 'type.googleapis.com/google.ads.googleads.v18.errors.GoogleAdsFailure', errors }],
      };
    const failed = new Set(errors.map((e) => e.location.fieldPathElements[0].index));
    items = items.filter((_, index) => !failed.has(index));
  }
  if (platform === 'meta') answer.body = { events_received: items.length, fbtrace_id: 'local' };
  if (platform === 'ga4') answer.status = 204;
  if (platform === 'chat') answer.text = 'ok';
  const at = Date.now();
  for (const it of items) arrivals.push({ platform, key: it.key, item: it.item, at });
  return answer;
}

function handle(req, res) {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url, 'http://receiver');
    const reply = (status, body, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (url.pathname === '/_control') {
      faults = JSON.parse(raw || '[]');
      return reply(200, { ok: true });
    }
    if (url.pathname === '/_arrivals')
      return reply(200, { arrivals, refusals, faults_left: faults.reduce((n, f) => n + f.count, 0) });
    const f = fault();
    if (f && f.mode === 'hang') return;  // never answers: the sender's timeout
    if (f && f.mode === 'close') return req.socket.destroy();
    if (f && f.mode === '429')
      return reply(429, { error: { message: 'slow down' } }, { 'retry-after': String(f.retry_after || 1) });
    if (f && f.mode === '500') return reply(500, { error: { message: 'internal error' } });
    let answer;
    try {
      answer = route(req, url, raw);
    } catch (e) {
      answer = { status: 400, body: { error: { message: `not JSON: ${e.message}` } } };
    }
    if (answer.text !== undefined) {
      res.writeHead(answer.status, { 'content-type': 'text/plain' });
      return res.end(answer.text);
    }
    reply(answer.status, answer.status === 204 ? undefined : answer.body);
  });
}

function listen(server, file) {
  server.listen(0, '127.0.0.1', () => {
    fs.writeFileSync(file + '.tmp', String(server.address().port));
    fs.renameSync(file + '.tmp', file);
  });
}

// The platforms (HTTPS when a certificate is given), and the test's own
// control port, plain HTTP.
listen(certFile
  ? https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, handle)
  : http.createServer(handle), portFile);
listen(http.createServer(handle), portFile + '.control');
// Bounded: a receiver left behind stops by itself.
setTimeout(() => process.exit(0), 10 * 60 * 1000).unref();
process.on('SIGTERM', () => process.exit(0));
