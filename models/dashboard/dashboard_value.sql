-- Value classes of the micro-conversions among the persons the filter
-- selects: models.micro_conversion_value on that population, as event_value
-- on everyone.
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
)
SELECT *
FROM models.micro_conversion_value(
    (SELECT jsonb_build_object('n', count(*), 's', coalesce(sum(profit), 0),
                               'ss', coalesce(sum(profit * profit), 0))
     FROM population),
    (SELECT jsonb_agg(d)
     FROM (SELECT e.event_name, count(*) AS n, sum(p.profit) AS s, sum(p.profit * p.profit) AS ss
           FROM models.early_conversions e JOIN population p USING (person_id)
           GROUP BY e.event_name) d),
    (SELECT jsonb_agg(o)
     FROM (SELECT o.event_name, sum(o.occurrences_complete_30d)::bigint AS occurrences_complete_30d,
                  sum(o.followed_by_order) AS followed_by_order
           FROM models.occurrence_outcomes o JOIN persons USING (person_id)
           GROUP BY o.event_name) o),
    (SELECT avg(o.revenue) FROM models.orders o JOIN persons USING (person_id)))
) filtered
WHERE NOT models.dashboard_unfiltered(p_from, p_to, p_dimension)
ORDER BY relative_uplift DESC NULLS LAST, event_name
$$;
