// A small test shop for the tracker's browser test: pages that load the
// tracker from the Funnelhouse server with one script tag, and a backend
// that logs people in and, at checkout, sends the order's server copy to
// Funnelhouse with the event id the page handed it.
import { createServer } from 'node:http';

const layout = (title, body, script) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>
<body>
<div id="banner" hidden>We measure how the shop is used. <button id="accept">Accept</button> <button id="deny">Deny</button></div>
${body}
<script src="{{FUNNELHOUSE}}/funnelhouse.js"></script>
<script>
  // ?flush=<ms> holds events back that long (the page-close test).
  const flushInterval = Number(new URLSearchParams(location.search).get('flush')) || undefined;
  funnelhouse.init({ host: '{{FUNNELHOUSE}}', writeKey: '{{KEY}}', consent: { required: true }, flushInterval,
                     onError: (problem) => (window.problems ||= []).push(problem) });
  const banner = document.getElementById('banner');
  banner.hidden = funnelhouse.state().granted;
  document.getElementById('accept').onclick = () => { funnelhouse.consent(true); banner.hidden = true; funnelhouse.page(); };
  document.getElementById('deny').onclick = () => { funnelhouse.consent(false); banner.hidden = true; };
  funnelhouse.page();
  ${script}
</script>
</body></html>`;

const pages = {
  '/product': layout('Blue jacket', `
<h1>Blue jacket</h1><p>49.50 EUR</p>
<button id="add">Add to cart</button> <a id="to-cart" href="/cart">Cart</a>`, `
  funnelhouse.track('product_viewed', { product_id: 'sku-1', price: 49.5 });
  document.getElementById('add').onclick = () => {
    window.lastEventId = funnelhouse.track('add_to_cart', { product_id: 'sku-1', price: 49.5, quantity: 1 });
  };`),
  '/cart': layout('Cart', `
<h1>Cart</h1><p>Blue jacket, 49.50 EUR</p><a id="to-login" href="/login">Log in to check out</a>`, ''),
  '/login': layout('Log in', `
<h1>Log in</h1><input id="user" value=""><button id="login">Log in</button>`, `
  document.getElementById('login').onclick = async () => {
    const user = document.getElementById('user').value;
    await fetch('/api/login', { method: 'POST', body: user });
    funnelhouse.identify(user, { plan: 'pro' });
    location.href = '/checkout';
  };`),
  '/checkout': layout('Checkout', `
<h1>Checkout</h1><button id="order">Place order</button>`, `
  funnelhouse.track('checkout_started', { value: 49.5, currency: 'EUR' });
  document.getElementById('order').onclick = async () => {
    // The id goes to the backend first, so both copies of the order share it.
    const eventId = funnelhouse.newEventId();
    const answer = await (await fetch('/api/checkout', { method: 'POST', body: JSON.stringify({ eventId }) })).json();
    funnelhouse.track('order_completed', { order_id: answer.orderId, revenue: 49.5, currency: 'EUR' }, { eventId });
    location.href = '/thanks';
  };`),
  '/thanks': layout('Thank you', '<h1>Thank you</h1>', ''),
};

// Starts the shop on 127.0.0.1 (pages are opened as http://localhost:port).
// `funnelhouse()` gives the server's URL when a page is served; the
// backend posts with `serverKey`. Returns { url, port, orders, close }.
export async function startShop({ funnelhouse, browserKey, serverKey }) {
  const orders = [];
  const users = new Map(); // session cookie -> user id
  const server = createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://localhost');
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString();
    const session = /(?:^|; )shop_session=([^;]+)/.exec(req.headers.cookie || '')?.[1];
    try {
      if (req.method === 'GET' && pages[pathname]) {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        return res.end(pages[pathname].replaceAll('{{FUNNELHOUSE}}', funnelhouse()).replaceAll('{{KEY}}', browserKey));
      }
      if (req.method === 'POST' && pathname === '/api/login') {
        const id = `s${users.size + 1}`;
        users.set(id, body);
        res.writeHead(204, { 'Set-Cookie': `shop_session=${id}; Path=/; HttpOnly; SameSite=Lax` });
        return res.end();
      }
      if (req.method === 'POST' && pathname === '/api/checkout') {
        const { eventId } = JSON.parse(body);
        const userId = users.get(session);
        const orderId = `ORD-${orders.length + 1}`;
        // The order's server copy, as any backend would send it.
        const sent = await fetch(`${funnelhouse()}/v1/track`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from(`${serverKey}:`).toString('base64')}` },
          body: JSON.stringify({
            messageId: eventId, userId, event: 'order_completed',
            properties: { order_id: orderId, revenue: 49.5, cost: 21, currency: 'EUR' },
          }),
        });
        orders.push({ eventId, orderId, userId, status: sent.status, answer: await sent.json() });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return res.end(JSON.stringify({ orderId }));
      }
      res.writeHead(404);
      res.end('not found');
    } catch (error) {
      res.writeHead(500);
      res.end(String(error));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    port,
    url: `http://localhost:${port}`,
    orders,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}
