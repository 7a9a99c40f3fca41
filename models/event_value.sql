-- The value of each micro-conversion among everyone with a complete 90-day
-- window (models.micro_conversion_value, which the dashboard's value panel
-- uses too): 90-day gross profit of persons who did it in their first 7
-- days against those who did not, the 95% Welch interval of the
-- difference, the value class it earns, and the expected revenue per
-- occurrence.
--
-- grain: one row per event name
-- kind: table
-- index: unique (event_name)
-- reads: early_conversions, occurrence_outcomes, orders, person_value
WITH population AS (
    SELECT person_id, gross_profit_90d AS profit FROM models.person_value WHERE complete_90d
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
     FROM (SELECT event_name, sum(occurrences_complete_30d)::bigint AS occurrences_complete_30d,
                  sum(followed_by_order) AS followed_by_order
           FROM models.occurrence_outcomes
           GROUP BY event_name) o),
    (SELECT avg(revenue) FROM models.orders))
