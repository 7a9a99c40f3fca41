-- The value of each micro-conversion: 90-day gross profit of persons who did
-- it in their first 7 days against those who did not, the 95% Welch interval
-- of the difference, the value class it earns (models.value_class_of), and the
-- expected revenue per occurrence.
--
-- grain: one row per event name
-- kind: table
-- index: unique (event_name)
-- reads: early_conversions, occurrence_outcomes, orders, person_value
WITH population AS (
    SELECT person_id, gross_profit_90d AS profit FROM models.person_value WHERE complete_90d
), totals AS (
    SELECT count(*) AS n, coalesce(sum(profit), 0) AS s, coalesce(sum(profit * profit), 0) AS ss
    FROM population
), names AS (
    SELECT DISTINCT event_name FROM models.occurrence_outcomes
), did AS (
    SELECT e.event_name, count(*) AS n, sum(p.profit) AS s, sum(p.profit * p.profit) AS ss
    FROM models.early_conversions e
    JOIN population p USING (person_id)
    GROUP BY e.event_name
), sides AS (
    SELECT names.event_name,
           coalesce(did.n, 0) AS n1, coalesce(did.s, 0) AS s1, coalesce(did.ss, 0) AS ss1,
           totals.n - coalesce(did.n, 0) AS n0, totals.s - coalesce(did.s, 0) AS s0,
           totals.ss - coalesce(did.ss, 0) AS ss0,
           totals.s / nullif(totals.n, 0) AS mean_all
    FROM names CROSS JOIN totals LEFT JOIN did USING (event_name)
), moments AS (
    SELECT event_name, n1, n0, mean_all,
           s1 / nullif(n1, 0) AS mean1, s0 / nullif(n0, 0) AS mean0,
           models.sample_variance(n1, s1, ss1) AS var1,
           models.sample_variance(n0, s0, ss0) AS var0
    FROM sides
), welch AS (
    SELECT moments.*, mean1 - mean0 AS uplift,
           models.welch_margin(var1, n1, var0, n0) AS margin
    FROM moments
), interval95 AS (
    SELECT welch.*,
           uplift - margin AS uplift_low,
           uplift + margin AS uplift_high,
           uplift / nullif(mean_all, 0) AS relative_uplift
    FROM welch
), occurrence_value AS (
    SELECT event_name, sum(occurrences_complete_30d)::bigint AS occurrences_complete_30d,
           sum(followed_by_order) AS followed_by_order
    FROM models.occurrence_outcomes
    GROUP BY event_name
), order_mean AS (
    SELECT avg(revenue) AS mean_order_revenue FROM models.orders
), classified AS (
    SELECT i.*, models.value_class_of(n1, n0, uplift_low, relative_uplift) AS value_class
    FROM interval95 i
)
SELECT c.event_name,
       c.n1 AS persons_with, c.n0 AS persons_without,
       c.mean1 AS gross_profit_90d_with, c.mean0 AS gross_profit_90d_without,
       c.uplift, c.uplift_low, c.uplift_high, c.relative_uplift,
       c.value_class,
       contract.value_class AS declared_class,
       c.value_class <> 'unclassified' AND contract.value_class IS NOT NULL
           AND c.value_class <> contract.value_class AS class_disagrees,
       coalesce(ov.occurrences_complete_30d, 0) AS occurrences_complete_30d,
       ov.followed_by_order::numeric / nullif(ov.occurrences_complete_30d, 0) AS order_within_30d_share,
       om.mean_order_revenue,
       ov.followed_by_order::numeric / nullif(ov.occurrences_complete_30d, 0) * om.mean_order_revenue
           AS expected_revenue_per_occurrence
FROM classified c
CROSS JOIN order_mean om
LEFT JOIN occurrence_value ov USING (event_name)
LEFT JOIN models.contract_latest contract USING (event_name)
