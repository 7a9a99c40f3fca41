-- The value of each micro-conversion among a population of persons
-- (docs/analytics.md): the 90-day gross profit of those who did it in their
-- first 7 days against those who did not, the 95% Welch interval of the
-- difference, the relative uplift, the value class (models.value_class_of),
-- and the expected revenue per occurrence. It takes the population's sums,
-- so that event_value (everyone) and the dashboard (the persons a filter
-- selects) compute them in the one way written here:
--   population  {"n", "s", "ss"}: persons with a complete 90-day window, the
--               sum of their 90-day gross profit and of its squares
--   did         [{"event_name", "n", "s", "ss"}]: the same for those of them
--               who did the micro-conversion in their first 7 days
--   outcomes    [{"event_name", "occurrences_complete_30d",
--               "followed_by_order"}]: the population's occurrences whose
--               30 days are complete, and how many an order followed
--   mean_order_revenue: the mean revenue of the population's orders
-- One row per micro-conversion of `outcomes`.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.micro_conversion_value(population jsonb, did jsonb, outcomes jsonb,
                                                         mean_order_revenue numeric)
RETURNS TABLE (event_name text, persons_with bigint, persons_without bigint,
               gross_profit_90d_with numeric, gross_profit_90d_without numeric,
               uplift numeric, uplift_low numeric, uplift_high numeric, relative_uplift numeric,
               value_class text, declared_class text, class_disagrees boolean,
               occurrences_complete_30d bigint, order_within_30d_share numeric,
               mean_order_revenue numeric, expected_revenue_per_occurrence numeric)
LANGUAGE sql STABLE AS $$
WITH totals AS (
    SELECT * FROM jsonb_to_record(population) AS t(n bigint, s numeric, ss numeric)
), sides AS (
    SELECT o.event_name, o.occurrences_complete_30d, o.followed_by_order,
           coalesce(d.n, 0) AS n1, coalesce(d.s, 0) AS s1, coalesce(d.ss, 0) AS ss1,
           t.n - coalesce(d.n, 0) AS n0, t.s - coalesce(d.s, 0) AS s0,
           t.ss - coalesce(d.ss, 0) AS ss0,
           t.s / nullif(t.n, 0) AS mean_all
    FROM jsonb_to_recordset(coalesce(outcomes, '[]'))
             AS o(event_name text, occurrences_complete_30d bigint, followed_by_order numeric)
    CROSS JOIN totals t
    LEFT JOIN jsonb_to_recordset(coalesce(did, '[]'))
             AS d(event_name text, n bigint, s numeric, ss numeric) ON d.event_name = o.event_name
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
       micro_conversion_value.mean_order_revenue,
       c.followed_by_order::numeric / nullif(c.occurrences_complete_30d, 0)
           * micro_conversion_value.mean_order_revenue
FROM classified c
LEFT JOIN models.contract_latest contract ON contract.event_name = c.event_name
$$;
