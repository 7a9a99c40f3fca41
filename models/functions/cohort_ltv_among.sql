-- Value per person of each cohort among the persons a filter selects
-- (models.dashboard_persons: NULL days and 'all' select everyone): all of
-- them ('all'), those who did a micro-conversion in their first 7 days, a
-- first-touch channel, a landing page, a first-seen month (UTC). Averages
-- and rates use complete windows only. models.cohort_ltv is this for
-- everyone; the dashboard's segments panel, for the persons its filter
-- selects.
--
-- kind: function
-- reads: dashboard_persons, early_conversions, person_value
CREATE OR REPLACE FUNCTION models.cohort_ltv_among(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (cohort_kind text, cohort text, persons bigint,
               persons_complete_30d bigint, revenue_per_person_30d numeric,
               gross_profit_per_person_30d numeric,
               persons_complete_60d bigint, revenue_per_person_60d numeric,
               gross_profit_per_person_60d numeric,
               persons_complete_90d bigint, revenue_per_person_90d numeric,
               gross_profit_per_person_90d numeric,
               persons_complete_180d bigint, revenue_per_person_180d numeric,
               gross_profit_per_person_180d numeric,
               repeat_rate_90d numeric, refund_rate_90d numeric, orders_without_cost_90d numeric)
LANGUAGE sql STABLE AS $$
WITH persons AS (
    SELECT * FROM models.dashboard_persons(p_from, p_to, p_dimension, p_segment)
), members AS (
    SELECT 'all'::text AS cohort_kind, 'all'::text AS cohort, person_id FROM persons
    UNION ALL
    SELECT 'micro_conversion', e.event_name, e.person_id
    FROM models.early_conversions e JOIN persons USING (person_id)
    UNION ALL
    SELECT 'channel', channel, person_id FROM persons
    UNION ALL
    SELECT 'landing_page', landing_page, person_id FROM persons
    UNION ALL
    SELECT 'first_seen_month', to_char(first_seen AT TIME ZONE 'UTC', 'YYYY-MM'), person_id
    FROM persons
)
SELECT m.cohort_kind, m.cohort,
       count(*) AS persons,
       count(*) FILTER (WHERE v.complete_30d) AS persons_complete_30d,
       avg(v.revenue_30d) FILTER (WHERE v.complete_30d) AS revenue_per_person_30d,
       avg(v.gross_profit_30d) FILTER (WHERE v.complete_30d) AS gross_profit_per_person_30d,
       count(*) FILTER (WHERE v.complete_60d) AS persons_complete_60d,
       avg(v.revenue_60d) FILTER (WHERE v.complete_60d) AS revenue_per_person_60d,
       avg(v.gross_profit_60d) FILTER (WHERE v.complete_60d) AS gross_profit_per_person_60d,
       count(*) FILTER (WHERE v.complete_90d) AS persons_complete_90d,
       avg(v.revenue_90d) FILTER (WHERE v.complete_90d) AS revenue_per_person_90d,
       avg(v.gross_profit_90d) FILTER (WHERE v.complete_90d) AS gross_profit_per_person_90d,
       count(*) FILTER (WHERE v.complete_180d) AS persons_complete_180d,
       avg(v.revenue_180d) FILTER (WHERE v.complete_180d) AS revenue_per_person_180d,
       avg(v.gross_profit_180d) FILTER (WHERE v.complete_180d) AS gross_profit_per_person_180d,
       count(*) FILTER (WHERE v.complete_90d AND v.orders_90d >= 2)::numeric
           / nullif(count(*) FILTER (WHERE v.complete_90d AND v.orders_90d >= 1), 0) AS repeat_rate_90d,
       sum(v.refunded_orders_90d) FILTER (WHERE v.complete_90d)::numeric
           / nullif(sum(v.orders_90d) FILTER (WHERE v.complete_90d), 0) AS refund_rate_90d,
       sum(v.orders_without_cost_90d) FILTER (WHERE v.complete_90d) AS orders_without_cost_90d
FROM members m
JOIN models.person_value v USING (person_id)
GROUP BY m.cohort_kind, m.cohort
$$;
