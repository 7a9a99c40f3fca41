-- Refunds count against the person of the refunded order when it is known,
-- else against the refund event's own person.
--
-- grain: one row per refund event
-- kind: table
-- index: unique (event_id)
-- index: (person_id, occurred_at)
-- index: (order_id, occurred_at)
-- reads: orders, person_events
WITH refund AS (
    -- (a join of its own: on Citus, the events and their persons are
    -- spread by different keys)
    SELECT r.event_id, r.properties, r.occurred_at, pe.person_id
    FROM events r
    JOIN models.person_events pe USING (event_id)
    WHERE r.event_name = 'refund_issued'
)
SELECT r.event_id, r.properties ->> 'order_id' AS order_id,
       coalesce(o.person_id, r.person_id) AS person_id, r.occurred_at,
       (r.properties ->> 'amount')::numeric AS amount,
       o.order_id IS NOT NULL AS order_known
FROM refund r
LEFT JOIN models.orders o ON o.order_id = r.properties ->> 'order_id'
