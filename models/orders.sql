-- Orders: the earliest event of each order_id (an order sent twice under
-- different ids counts once), with revenue, cost and gross profit.
--
-- grain: one row per order_id
-- kind: table
-- index: unique (order_id)
-- index: (person_id, occurred_at)
-- reads: person_events
WITH placed AS MATERIALIZED (
    -- The order events first: on Citus they are gathered from the shards
    -- and met with their persons on the workers.
    SELECT event_id, occurred_at, properties FROM events WHERE event_name = 'order_completed'
)
SELECT DISTINCT ON (e.properties ->> 'order_id')
       e.properties ->> 'order_id' AS order_id, e.event_id, pe.person_id, e.occurred_at,
       (e.properties ->> 'revenue')::numeric AS revenue,
       (e.properties ->> 'cost')::numeric AS cost,
       (e.properties ->> 'revenue')::numeric - coalesce((e.properties ->> 'cost')::numeric, 0) AS gross_profit,
       e.properties ->> 'currency' AS currency,
       e.properties ->> 'coupon' AS coupon
FROM placed e
JOIN models.person_events pe USING (event_id)
ORDER BY e.properties ->> 'order_id', e.occurred_at, e.event_id
