-- Per person and micro-conversion: occurrences whose 30 days are complete, and
-- how many of them an order of the person followed within 30 days
-- (event_value's expected revenue per occurrence, per person). Only buyers'
-- occurrences are looked up in orders.
--
-- grain: one row per person and event name
-- kind: table
-- index: (person_id)
-- reads: horizon, occurrences, orders
SELECT o.person_id, o.event_name,
       count(*) FILTER (WHERE o.occurred_at + interval '30 days' <= h.horizon) AS occurrences_complete_30d,
       count(*) FILTER (WHERE o.occurred_at + interval '30 days' <= h.horizon
                          AND buyer.person_id IS NOT NULL AND EXISTS (
           SELECT 1 FROM models.orders od
           WHERE od.person_id = o.person_id AND od.occurred_at >= o.occurred_at
             AND od.occurred_at < o.occurred_at + interval '30 days')) AS followed_by_order
FROM models.occurrences o
LEFT JOIN (SELECT DISTINCT person_id FROM models.orders) buyer USING (person_id)
CROSS JOIN models.horizon h
WHERE o.event_name NOT IN ('order_completed', 'refund_issued')
GROUP BY o.person_id, o.event_name
