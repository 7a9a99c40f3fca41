-- Value classes of the micro-conversions among the persons the filter
-- selects: event_value's definitions on that population.
--
-- kind: function
-- reads: early_conversions, event_value, occurrence_outcomes, orders, person_value
CREATE OR REPLACE FUNCTION models.dashboard_value(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (event_name text, persons_with bigint, persons_without bigint,
               gross_profit_90d_with numeric, gross_profit_90d_without numeric,
               uplift numeric, uplift_low numeric, uplift_high numeric, relative_uplift numeric,
               value_class text, declared_class text, class_disagrees boolean,
               occurrences_complete_30d bigint, order_within_30d_share numeric,
               mean_order_revenue numeric, expected_revenue_per_occurrence numeric)
LANGUAGE sql STABLE AS $$
SELECT * FROM models.event_value WHERE models.dashboard_unfiltered(p_from, p_to, p_dimension)
UNION ALL
SELECT * FROM (
WITH persons AS (
    SELECT person_id FROM models.dashboard_persons(p_from, p_to, p_dimension, p_segment)
), population AS (
    SELECT v.person_id, v.gross_profit_90d AS profit
    FROM models.person_value v JOIN persons USING (person_id)
    WHERE v.complete_90d
), totals AS (
    SELECT count(*) AS n, coalesce(sum(profit), 0) AS s, coalesce(sum(profit * profit), 0) AS ss
    FROM population
), outcomes AS (
    SELECT o.event_name, sum(o.occurrences_complete_30d)::bigint AS occurrences_complete_30d,
           sum(o.followed_by_order) AS followed_by_order
    FROM models.occurrence_outcomes o JOIN persons USING (person_id)
    GROUP BY o.event_name
), did AS (
    SELECT e.event_name, count(*) AS n, sum(p.profit) AS s, sum(p.profit * p.profit) AS ss
    FROM models.early_conversions e
    JOIN population p USING (person_id)
    GROUP BY e.event_name
), moments AS (
    SELECT o.event_name,
           coalesce(did.n, 0) AS n1, t.n - coalesce(did.n, 0) AS n0,
           t.s / nullif(t.n, 0) AS mean_all,
           coalesce(did.s, 0) / nullif(coalesce(did.n, 0), 0) AS mean1,
           (t.s - coalesce(did.s, 0)) / nullif(t.n - coalesce(did.n, 0), 0) AS mean0,
           models.sample_variance(coalesce(did.n, 0), coalesce(did.s, 0), coalesce(did.ss, 0)) AS var1,
           models.sample_variance(t.n - coalesce(did.n, 0), t.s - coalesce(did.s, 0),
                                  t.ss - coalesce(did.ss, 0)) AS var0
    FROM outcomes o CROSS JOIN totals t LEFT JOIN did USING (event_name)
), interval95 AS (
    SELECT m.*, m.mean1 - m.mean0 AS uplift,
           models.welch_margin(m.var1, m.n1, m.var0, m.n0) AS margin,
           (m.mean1 - m.mean0) / nullif(m.mean_all, 0) AS relative_uplift
    FROM moments m
), classified AS (
    SELECT i.*, models.value_class_of(i.n1, i.n0, i.uplift - i.margin, i.relative_uplift) AS value_class
    FROM interval95 i
), order_mean AS (
    SELECT avg(o.revenue) AS mean_order_revenue FROM models.orders o JOIN persons USING (person_id)
)
SELECT c.event_name, c.n1, c.n0, c.mean1, c.mean0,
       c.uplift, c.uplift - c.margin, c.uplift + c.margin, c.relative_uplift,
       c.value_class, contract.value_class,
       c.value_class <> 'unclassified' AND contract.value_class IS NOT NULL
           AND c.value_class <> contract.value_class,
       o.occurrences_complete_30d,
       o.followed_by_order::numeric / nullif(o.occurrences_complete_30d, 0),
       om.mean_order_revenue,
       o.followed_by_order::numeric / nullif(o.occurrences_complete_30d, 0) * om.mean_order_revenue
FROM classified c
JOIN outcomes o USING (event_name)
CROSS JOIN order_mean om
LEFT JOIN models.contract_latest contract USING (event_name)
) filtered
WHERE NOT models.dashboard_unfiltered(p_from, p_to, p_dimension)
ORDER BY relative_uplift DESC NULLS LAST, event_name
$$;
