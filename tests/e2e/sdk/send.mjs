// Sends a small journey through Segment's analytics-node library to the
// Funnelhouse server at FUNNELHOUSE_HOST with FUNNELHOUSE_WRITE_KEY, then
// prints one JSON line with the message ids the library generated.
import { Analytics } from '@segment/analytics-node';

const host = process.env.FUNNELHOUSE_HOST;
const writeKey = process.env.FUNNELHOUSE_WRITE_KEY;
if (!host || !writeKey) {
  console.error('FUNNELHOUSE_HOST and FUNNELHOUSE_WRITE_KEY are required');
  process.exit(2);
}

const analytics = new Analytics({ writeKey, host, flushAt: 20, flushInterval: 500, maxRetries: 2 });
const failures = [];
analytics.on('error', (error) => failures.push(String(error?.reason ?? error)));

// Every message the library delivered, in order: its type, name and id.
const sent = [];
for (const type of ['track', 'identify', 'page', 'alias']) {
  analytics.on(type, (ctx) => sent.push({ type, event: ctx.event.event ?? null, messageId: ctx.event.messageId }));
}

analytics.page({ anonymousId: 'sdk-anon-1', name: 'Product', properties: { path: '/p/sku-1', url: 'https://shop.example/p/sku-1' } });
analytics.track({ anonymousId: 'sdk-anon-1', event: 'product_viewed', properties: { product_id: 'sku-1', price: 49.5 } });
analytics.track({ anonymousId: 'sdk-anon-1', event: 'add_to_cart', properties: { product_id: 'sku-1', price: 49.5, quantity: 1 } });
analytics.identify({ anonymousId: 'sdk-anon-1', userId: 'sdk-user-1', traits: { plan: 'pro', email: 'ann@shop.example' } });
analytics.alias({ previousId: 'sdk-anon-1', userId: 'sdk-user-1' });
analytics.track({ userId: 'sdk-user-1', event: 'order_completed', properties: { order_id: 'SDK-1', revenue: 49.5, cost: 20, currency: 'EUR' } });
analytics.track({ userId: 'sdk-user-1', event: 'order_completed', properties: { order_id: 'SDK-2', revenue: -3, currency: 'EUR' } });

await analytics.closeAndFlush({ timeout: 20000 });
console.log(JSON.stringify({ sent, failures }));
process.exit(failures.length === 0 ? 0 : 1);
