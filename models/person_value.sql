-- Per person and window [first_seen, first_seen + N days), N = 30, 60, 90,
-- 180: orders, revenue and gross profit net of refunds in the window, the
-- refunds, orders refunded within the window, orders without a cost, and
-- whether the window is complete (ends at or before the horizon).
--
-- grain: one row per person
-- kind: table
-- index: unique (person_id)
-- reads: horizon, orders, person_firsts, refunds
WITH order_sums AS (
    SELECT p.person_id,
           count(*) FILTER (WHERE o.occurred_at < p.first_seen + interval '30 days') AS orders_30d,
           count(*) FILTER (WHERE o.occurred_at < p.first_seen + interval '60 days') AS orders_60d,
           count(*) FILTER (WHERE o.occurred_at < p.first_seen + interval '90 days') AS orders_90d,
           count(*) FILTER (WHERE o.occurred_at < p.first_seen + interval '180 days') AS orders_180d,
           sum(o.revenue) FILTER (WHERE o.occurred_at < p.first_seen + interval '30 days') AS revenue_30d,
           sum(o.revenue) FILTER (WHERE o.occurred_at < p.first_seen + interval '60 days') AS revenue_60d,
           sum(o.revenue) FILTER (WHERE o.occurred_at < p.first_seen + interval '90 days') AS revenue_90d,
           sum(o.revenue) FILTER (WHERE o.occurred_at < p.first_seen + interval '180 days') AS revenue_180d,
           sum(o.gross_profit) FILTER (WHERE o.occurred_at < p.first_seen + interval '30 days') AS profit_30d,
           sum(o.gross_profit) FILTER (WHERE o.occurred_at < p.first_seen + interval '60 days') AS profit_60d,
           sum(o.gross_profit) FILTER (WHERE o.occurred_at < p.first_seen + interval '90 days') AS profit_90d,
           sum(o.gross_profit) FILTER (WHERE o.occurred_at < p.first_seen + interval '180 days') AS profit_180d,
           count(*) FILTER (WHERE o.cost IS NULL AND o.occurred_at < p.first_seen + interval '30 days') AS costless_30d,
           count(*) FILTER (WHERE o.cost IS NULL AND o.occurred_at < p.first_seen + interval '60 days') AS costless_60d,
           count(*) FILTER (WHERE o.cost IS NULL AND o.occurred_at < p.first_seen + interval '90 days') AS costless_90d,
           count(*) FILTER (WHERE o.cost IS NULL AND o.occurred_at < p.first_seen + interval '180 days') AS costless_180d
    FROM models.person_firsts p
    JOIN models.orders o USING (person_id)
    GROUP BY p.person_id
), refund_sums AS (
    SELECT p.person_id,
           sum(r.amount) FILTER (WHERE r.occurred_at < p.first_seen + interval '30 days') AS refunds_30d,
           sum(r.amount) FILTER (WHERE r.occurred_at < p.first_seen + interval '60 days') AS refunds_60d,
           sum(r.amount) FILTER (WHERE r.occurred_at < p.first_seen + interval '90 days') AS refunds_90d,
           sum(r.amount) FILTER (WHERE r.occurred_at < p.first_seen + interval '180 days') AS refunds_180d
    FROM models.person_firsts p
    JOIN models.refunds r USING (person_id)
    WHERE r.occurred_at >= p.first_seen
    GROUP BY p.person_id
), refunded_orders AS (
    -- An order placed in the window and refunded (at least partly) in it.
    SELECT p.person_id,
           count(DISTINCT o.order_id) FILTER (WHERE first_refund.at < p.first_seen + interval '30 days') AS refunded_30d,
           count(DISTINCT o.order_id) FILTER (WHERE first_refund.at < p.first_seen + interval '60 days') AS refunded_60d,
           count(DISTINCT o.order_id) FILTER (WHERE first_refund.at < p.first_seen + interval '90 days') AS refunded_90d,
           count(DISTINCT o.order_id) FILTER (WHERE first_refund.at < p.first_seen + interval '180 days') AS refunded_180d
    FROM models.person_firsts p
    JOIN models.orders o USING (person_id)
    CROSS JOIN LATERAL (SELECT min(r.occurred_at) AS at FROM models.refunds r
                        WHERE r.order_id = o.order_id AND r.occurred_at >= o.occurred_at) first_refund
    WHERE first_refund.at IS NOT NULL
    GROUP BY p.person_id
)
SELECT p.person_id, p.first_seen,
       p.first_seen + interval '30 days' <= h.horizon AS complete_30d,
       p.first_seen + interval '60 days' <= h.horizon AS complete_60d,
       p.first_seen + interval '90 days' <= h.horizon AS complete_90d,
       p.first_seen + interval '180 days' <= h.horizon AS complete_180d,
       coalesce(o.orders_30d, 0) AS orders_30d,
       coalesce(o.orders_60d, 0) AS orders_60d,
       coalesce(o.orders_90d, 0) AS orders_90d,
       coalesce(o.orders_180d, 0) AS orders_180d,
       coalesce(o.revenue_30d, 0) - coalesce(r.refunds_30d, 0) AS revenue_30d,
       coalesce(o.revenue_60d, 0) - coalesce(r.refunds_60d, 0) AS revenue_60d,
       coalesce(o.revenue_90d, 0) - coalesce(r.refunds_90d, 0) AS revenue_90d,
       coalesce(o.revenue_180d, 0) - coalesce(r.refunds_180d, 0) AS revenue_180d,
       coalesce(o.profit_30d, 0) - coalesce(r.refunds_30d, 0) AS gross_profit_30d,
       coalesce(o.profit_60d, 0) - coalesce(r.refunds_60d, 0) AS gross_profit_60d,
       coalesce(o.profit_90d, 0) - coalesce(r.refunds_90d, 0) AS gross_profit_90d,
       coalesce(o.profit_180d, 0) - coalesce(r.refunds_180d, 0) AS gross_profit_180d,
       coalesce(r.refunds_30d, 0) AS refunds_30d,
       coalesce(r.refunds_60d, 0) AS refunds_60d,
       coalesce(r.refunds_90d, 0) AS refunds_90d,
       coalesce(r.refunds_180d, 0) AS refunds_180d,
       coalesce(ro.refunded_30d, 0) AS refunded_orders_30d,
       coalesce(ro.refunded_60d, 0) AS refunded_orders_60d,
       coalesce(ro.refunded_90d, 0) AS refunded_orders_90d,
       coalesce(ro.refunded_180d, 0) AS refunded_orders_180d,
       coalesce(o.costless_30d, 0) AS orders_without_cost_30d,
       coalesce(o.costless_60d, 0) AS orders_without_cost_60d,
       coalesce(o.costless_90d, 0) AS orders_without_cost_90d,
       coalesce(o.costless_180d, 0) AS orders_without_cost_180d
FROM models.person_firsts p
CROSS JOIN models.horizon h
LEFT JOIN order_sums o USING (person_id)
LEFT JOIN refund_sums r USING (person_id)
LEFT JOIN refunded_orders ro USING (person_id)
