-- Value per person at 30/60/90/180 days for everyone the filter selects
-- ('all'), and by first-touch channel, landing page and micro-conversion
-- in the first 7 days (cohort_ltv's definitions). The p_limit largest
-- segments of each dimension, by persons.
--
-- kind: function
-- reads: cohort_ltv, early_conversions, person_value
CREATE OR REPLACE FUNCTION models.dashboard_segments(p_from date, p_to date, p_dimension text, p_segment text,
                                          p_limit integer DEFAULT 25)
RETURNS TABLE (dimension text, segment text, persons bigint,
               persons_complete_30d bigint, gross_profit_per_person_30d numeric,
               persons_complete_60d bigint, gross_profit_per_person_60d numeric,
               persons_complete_90d bigint, gross_profit_per_person_90d numeric,
               persons_complete_180d bigint, gross_profit_per_person_180d numeric,
               revenue_per_person_60d numeric, repeat_rate_90d numeric, refund_rate_90d numeric)
LANGUAGE sql STABLE AS $$
WITH precomputed AS (
    SELECT cohort_kind AS dimension, cohort AS segment, persons,
           persons_complete_30d, gross_profit_per_person_30d,
           persons_complete_60d, gross_profit_per_person_60d,
           persons_complete_90d, gross_profit_per_person_90d,
           persons_complete_180d, gross_profit_per_person_180d,
           revenue_per_person_60d, repeat_rate_90d, refund_rate_90d
    FROM models.cohort_ltv
    WHERE models.dashboard_unfiltered(p_from, p_to, p_dimension) AND cohort_kind <> 'first_seen_month'
), persons AS (
    SELECT * FROM models.dashboard_persons(p_from, p_to, p_dimension, p_segment)
    WHERE NOT models.dashboard_unfiltered(p_from, p_to, p_dimension)
), members AS (
    SELECT 'all'::text AS dimension, 'all'::text AS segment, person_id FROM persons
    UNION ALL
    SELECT 'channel', channel, person_id FROM persons
    UNION ALL
    SELECT 'landing_page', landing_page, person_id FROM persons
    UNION ALL
    SELECT 'micro_conversion', e.event_name, e.person_id
    FROM models.early_conversions e JOIN persons USING (person_id)
), sums AS (
    SELECT m.dimension, m.segment,
           count(*) AS persons,
           count(*) FILTER (WHERE v.complete_30d) AS persons_complete_30d,
           avg(v.gross_profit_30d) FILTER (WHERE v.complete_30d) AS gross_profit_per_person_30d,
           count(*) FILTER (WHERE v.complete_60d) AS persons_complete_60d,
           avg(v.gross_profit_60d) FILTER (WHERE v.complete_60d) AS gross_profit_per_person_60d,
           count(*) FILTER (WHERE v.complete_90d) AS persons_complete_90d,
           avg(v.gross_profit_90d) FILTER (WHERE v.complete_90d) AS gross_profit_per_person_90d,
           count(*) FILTER (WHERE v.complete_180d) AS persons_complete_180d,
           avg(v.gross_profit_180d) FILTER (WHERE v.complete_180d) AS gross_profit_per_person_180d,
           avg(v.revenue_60d) FILTER (WHERE v.complete_60d) AS revenue_per_person_60d,
           count(*) FILTER (WHERE v.complete_90d AND v.orders_90d >= 2)::numeric
               / nullif(count(*) FILTER (WHERE v.complete_90d AND v.orders_90d >= 1), 0) AS repeat_rate_90d,
           sum(v.refunded_orders_90d) FILTER (WHERE v.complete_90d)::numeric
               / nullif(sum(v.orders_90d) FILTER (WHERE v.complete_90d), 0) AS refund_rate_90d
    FROM members m
    JOIN models.person_value v USING (person_id)
    GROUP BY m.dimension, m.segment
), ranked AS (
    SELECT all_rows.*,
           row_number() OVER (PARTITION BY dimension ORDER BY persons DESC, segment) AS rank
    FROM (SELECT * FROM precomputed UNION ALL SELECT * FROM sums) all_rows
)
SELECT dimension, segment, persons, persons_complete_30d, gross_profit_per_person_30d,
       persons_complete_60d, gross_profit_per_person_60d, persons_complete_90d,
       gross_profit_per_person_90d, persons_complete_180d, gross_profit_per_person_180d,
       revenue_per_person_60d, repeat_rate_90d, refund_rate_90d
FROM ranked
WHERE rank <= p_limit
ORDER BY CASE dimension WHEN 'all' THEN 0 WHEN 'channel' THEN 1 WHEN 'landing_page' THEN 2 ELSE 3 END,
         persons DESC, segment
$$;
