-- When orders come (docs/analytics.md): for each order, the time from its
-- person's first touch, and how many of the person's sessions came before
-- the one it is in.
--
-- grain: one row per order_id
-- kind: table
-- index: unique (order_id)
-- reads: orders, person_events, person_firsts
SELECT o.order_id, o.person_id, o.occurred_at,
       extract(epoch FROM o.occurred_at - p.first_seen)::float8 AS seconds_from_first_touch,
       pe.session_number - 1 AS sessions_before
FROM models.orders o
JOIN models.person_events pe USING (event_id)
JOIN models.person_firsts p ON p.person_id = o.person_id
