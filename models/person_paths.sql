-- Each person's path (docs/analytics.md#paths): the distinct
-- micro-conversions they did, in the order of their first occurrence
-- (under the contracts' frequency rules: models.first_occurrences), before
-- their first order when it came within their first
-- settings.path_window_days, else within those days. Only persons whose
-- window is complete (ends at or before the horizon) have a path. Page and
-- screen views, experiment exposures (the site's doing, not the person's),
-- orders and refunds are not steps.
--
-- grain: one row per person with a complete window
-- kind: table
-- index: unique (person_id)
-- reads: horizon, first_occurrences, orders, person_firsts, person_value
WITH windows AS (
    SELECT p.person_id, p.first_seen + make_interval(days => s.path_window_days) AS window_end,
           first_order.at AS first_order_at
    FROM models.person_firsts p
    CROSS JOIN models.settings s
    CROSS JOIN models.horizon h
    LEFT JOIN (SELECT person_id, min(occurred_at) AS at FROM models.orders GROUP BY person_id)
        first_order USING (person_id)
    WHERE p.first_seen + make_interval(days => s.path_window_days) <= h.horizon
), judged AS (
    SELECT person_id, coalesce(first_order_at < window_end, false) AS converted,
           CASE WHEN first_order_at < window_end THEN first_order_at ELSE window_end END AS path_end
    FROM windows
), steps AS (
    SELECT f.person_id, f.event_name, f.occurred_at AS first_at
    FROM models.first_occurrences f
    JOIN judged j USING (person_id)
    WHERE f.occurred_at < j.path_end
      AND f.event_name NOT IN ('experiment_viewed', 'order_completed', 'refund_issued')
)
SELECT j.person_id, j.converted,
       coalesce(array_agg(s.event_name ORDER BY s.first_at, s.event_name)
                    FILTER (WHERE s.event_name IS NOT NULL), '{}') AS path,
       CASE WHEN v.complete_90d THEN v.gross_profit_90d END AS gross_profit_90d
FROM judged j
JOIN models.person_value v USING (person_id)
LEFT JOIN steps s USING (person_id)
GROUP BY j.person_id, j.converted, v.complete_90d, v.gross_profit_90d
