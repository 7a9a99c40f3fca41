-- Per person and experiment: the first exposure (experiment_viewed) decides
-- the variant; the orders, refunds and gross profit in the 60 days after it.
--
-- grain: one row per experiment and person
-- kind: table
-- index: unique (experiment_id, person_id)
-- reads: horizon, orders, person_events, refunds
WITH viewed AS MATERIALIZED (
    -- The exposure events first: on Citus they are gathered from the
    -- shards and met with their persons on the workers.
    SELECT event_id, occurred_at, properties FROM events WHERE event_name = 'experiment_viewed'
), exposures AS (
    SELECT DISTINCT ON (pe.person_id, e.properties ->> 'experiment_id')
           pe.person_id, e.properties ->> 'experiment_id' AS experiment_id,
           e.properties ->> 'variant' AS variant, e.occurred_at AS exposed_at
    FROM viewed e
    JOIN models.person_events pe USING (event_id)
    ORDER BY pe.person_id, e.properties ->> 'experiment_id', e.occurred_at, e.event_id
)
SELECT x.experiment_id, x.variant, x.person_id, x.exposed_at,
       x.exposed_at + interval '60 days' <= h.horizon AS complete_60d,
       EXISTS (SELECT 1 FROM models.orders o
               WHERE o.person_id = x.person_id AND o.occurred_at < x.exposed_at) AS bought_before,
       w.orders_30d, w.orders_60d, w.refunded_orders_60d,
       w.profit_60d - coalesce(rf.amount, 0) AS gross_profit_60d
FROM exposures x
CROSS JOIN models.horizon h
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE o.occurred_at < x.exposed_at + interval '30 days') AS orders_30d,
           count(*) AS orders_60d,
           coalesce(sum(o.gross_profit), 0) AS profit_60d,
           count(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM models.refunds r
               WHERE r.order_id = o.order_id AND r.occurred_at >= o.occurred_at
                 AND r.occurred_at < x.exposed_at + interval '60 days')) AS refunded_orders_60d
    FROM models.orders o
    WHERE o.person_id = x.person_id AND o.occurred_at >= x.exposed_at
      AND o.occurred_at < x.exposed_at + interval '60 days') w
CROSS JOIN LATERAL (
    SELECT sum(r.amount) AS amount FROM models.refunds r
    WHERE r.person_id = x.person_id AND r.occurred_at >= x.exposed_at
      AND r.occurred_at < x.exposed_at + interval '60 days') rf
