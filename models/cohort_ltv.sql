-- Value per person of each cohort: everyone ('all'), those who did a
-- micro-conversion in their first 7 days, a first-touch channel, a landing
-- page, a first-seen month (UTC). Averages and rates use complete windows
-- only.
--
-- grain: one row per cohort kind and cohort
-- kind: table
-- index: unique (cohort_kind, cohort)
-- reads: early_conversions, person_firsts, person_value
WITH members AS (
    SELECT 'all'::text AS cohort_kind, 'all'::text AS cohort, person_id FROM models.person_firsts
    UNION ALL
    SELECT 'micro_conversion', event_name, person_id FROM models.early_conversions
    UNION ALL
    SELECT 'channel', channel, person_id FROM models.person_firsts
    UNION ALL
    SELECT 'landing_page', landing_page, person_id FROM models.person_firsts
    UNION ALL
    SELECT 'first_seen_month', to_char(first_seen AT TIME ZONE 'UTC', 'YYYY-MM'), person_id
    FROM models.person_firsts
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
