-- The quality of first-touch channels and landing pages: first-order rate,
-- 90-day gross profit per person, repeat rate and the share of persons who
-- did a valuable micro-conversion (P0-P2) in their first 7 days.
--
-- grain: one row per dimension and segment
-- kind: table
-- index: unique (dimension, segment)
-- reads: early_conversions, event_value, horizon, person_firsts, person_value
WITH valuable AS (
    SELECT DISTINCT e.person_id
    FROM models.early_conversions e
    JOIN models.event_value v USING (event_name)
    WHERE v.value_class IN ('P0', 'P1', 'P2')
), persons AS (
    SELECT p.person_id, p.channel, p.landing_page, v.*,
           p.first_seen + interval '7 days' <= h.horizon AS complete_7d,
           x.person_id IS NOT NULL AS reached_valuable
    FROM models.person_firsts p
    JOIN models.person_value v USING (person_id)
    CROSS JOIN models.horizon h
    LEFT JOIN valuable x USING (person_id)
)
SELECT CASE WHEN GROUPING(channel) = 0 THEN 'channel' ELSE 'landing_page' END AS dimension,
       CASE WHEN GROUPING(channel) = 0 THEN channel ELSE landing_page END AS segment,
       count(*) AS persons,
       avg((orders_30d > 0)::int) FILTER (WHERE complete_30d) AS first_order_rate_30d,
       avg(gross_profit_90d) FILTER (WHERE complete_90d) AS gross_profit_per_person_90d,
       count(*) FILTER (WHERE complete_90d AND orders_90d >= 2)::numeric
           / nullif(count(*) FILTER (WHERE complete_90d AND orders_90d >= 1), 0) AS repeat_rate_90d,
       avg(reached_valuable::int) FILTER (WHERE complete_7d) AS valuable_micro_conversion_share
FROM persons
GROUP BY GROUPING SETS ((channel), (landing_page))
