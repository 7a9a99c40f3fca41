-- The value of each micro-conversion among the persons a filter selects
-- (models.dashboard_persons: NULL days and 'all' select everyone;
-- docs/analytics.md): the 90-day gross profit of those with a complete
-- 90-day window who did it in their first 7 days against those who did
-- not, the 95% Welch interval of the difference, the relative uplift, the
-- value class (models.value_class_of), and the expected revenue per
-- occurrence (the share of their occurrences with complete 30 days that an
-- order followed, times the mean revenue of their orders).
-- models.event_value is this for everyone; the dashboard's value panel,
-- for the persons its filter selects.
-- One row per micro-conversion the persons did.
--
-- kind: function
-- reads: dashboard_persons, early_conversions, occurrence_outcomes, orders, person_value
CREATE OR REPLACE FUNCTION models.event_value_among(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (event_name text, persons_with bigint, persons_without bigint,
               gross_profit_90d_with numeric, gross_profit_90d_without numeric,
               uplift numeric, uplift_low numeric, uplift_high numeric, relative_uplift numeric,
               value_class text, declared_class text, class_disagrees boolean,
               occurrences_complete_30d bigint, order_within_30d_share numeric,
               mean_order_revenue numeric, expected_revenue_per_occurrence numeric)
LANGUAGE sql STABLE AS $$
WITH persons AS (
    SELECT person_id FROM models.dashboard_persons(p_from, p_to, p_dimension, p_segment)
), population AS (
    -- Those with a complete 90-day window, and their 90-day gross profit.
    SELECT v.person_id, v.gross_profit_90d AS profit
    FROM models.person_value v JOIN persons USING (person_id)
    WHERE v.complete_90d
), totals AS (
    SELECT count(*) AS n, coalesce(sum(profit), 0) AS s, coalesce(sum(profit * profit), 0) AS ss
    FROM population
), did AS (
    SELECT e.event_name, count(*) AS n, sum(p.profit) AS s, sum(p.profit * p.profit) AS ss
    FROM models.early_conversions e JOIN population p USING (person_id)
    GROUP BY e.event_name
), outcomes AS (
    SELECT o.event_name, sum(o.occurrences_complete_30d)::bigint AS occurrences_complete_30d,
           sum(o.followed_by_order)::numeric AS followed_by_order
    FROM models.occurrence_outcomes o JOIN persons USING (person_id)
    GROUP BY o.event_name
), sides AS (
    SELECT o.event_name, o.occurrences_complete_30d, o.followed_by_order,
           coalesce(d.n, 0) AS n1, coalesce(d.s, 0) AS s1, coalesce(d.ss, 0) AS ss1,
           t.n - coalesce(d.n, 0) AS n0, t.s - coalesce(d.s, 0) AS s0,
           t.ss - coalesce(d.ss, 0) AS ss0,
           t.s / nullif(t.n, 0) AS mean_all
    FROM outcomes o
    CROSS JOIN totals t
    LEFT JOIN did d ON d.event_name = o.event_name
), moments AS (
    SELECT sides.*,
           s1 / nullif(n1, 0) AS mean1, s0 / nullif(n0, 0) AS mean0,
           models.sample_variance(n1, s1, ss1) AS var1,
           models.sample_variance(n0, s0, ss0) AS var0
    FROM sides
), interval95 AS (
    SELECT m.*, m.mean1 - m.mean0 AS difference,
           m.mean1 - m.mean0 - models.welch_margin(m.var1, m.n1, m.var0, m.n0) AS low,
           m.mean1 - m.mean0 + models.welch_margin(m.var1, m.n1, m.var0, m.n0) AS high,
           (m.mean1 - m.mean0) / nullif(m.mean_all, 0) AS relative
    FROM moments m
), classified AS (
    SELECT i.*, models.value_class_of(i.n1, i.n0, i.low, i.relative) AS class
    FROM interval95 i
)
SELECT c.event_name, c.n1, c.n0, c.mean1, c.mean0, c.difference, c.low, c.high, c.relative,
       c.class, contract.value_class,
       c.class <> 'unclassified' AND contract.value_class IS NOT NULL
           AND c.class <> contract.value_class,
       c.occurrences_complete_30d,
       c.followed_by_order::numeric / nullif(c.occurrences_complete_30d, 0),
       r.mean_order_revenue,
       c.followed_by_order::numeric / nullif(c.occurrences_complete_30d, 0) * r.mean_order_revenue
FROM classified c
CROSS JOIN (SELECT avg(o.revenue) AS mean_order_revenue
            FROM models.orders o JOIN persons USING (person_id)) r
LEFT JOIN models.contract_latest contract ON contract.event_name = c.event_name
$$;
