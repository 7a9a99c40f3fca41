-- Refunds count against the person of the refunded order when it is known,
-- else against the refund event's own person.
--
-- grain: one row per refund event
-- kind: table
-- index: unique (event_id)
-- index: (person_id, occurred_at)
-- index: (order_id, occurred_at)
-- reads: orders, person_events
WITH issued AS MATERIALIZED (
    -- The refund events first: on Citus they are gathered from the shards
    -- and met with their persons on the workers.
    SELECT event_id, properties, occurred_at FROM events WHERE event_name = 'refund_issued'
), refund AS (
    SELECT r.event_id, r.properties, r.occurred_at, pe.person_id
    FROM issued r
    JOIN models.person_events pe USING (event_id)
)
SELECT r.event_id, r.properties ->> 'order_id' AS order_id,
       coalesce(o.person_id, r.person_id) AS person_id, r.occurred_at,
       (r.properties ->> 'amount')::numeric AS amount,
       o.order_id IS NOT NULL AS order_known
FROM refund r
LEFT JOIN models.orders o ON o.order_id = r.properties ->> 'order_id'
