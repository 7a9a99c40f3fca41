-- The most common paths among the persons a filter selects
-- (models.dashboard_persons: NULL days and 'all' select everyone;
-- docs/analytics.md#paths). Paths are cut to their first
-- settings.path_max_steps steps so that they group, written 'a > b > c'
-- ('(none)' for no step). A path is listed when it is among the
-- settings.path_top most common among converters or among non-converters;
-- the rest make one row, '(other)'. Per path: persons, converters and
-- non-converters, the conversion rate within the window, the mean 90-day
-- gross profit of those whose 90 days are complete, and its rank by
-- converters and by non-converters.
-- models.paths is this for everyone; the dashboard's journeys panel, for
-- the persons its filter selects.
--
-- kind: function
-- reads: dashboard_persons, person_paths
CREATE OR REPLACE FUNCTION models.paths_among(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (path text, steps integer, persons bigint, converters bigint, non_converters bigint,
               conversion_rate numeric, persons_with_90d bigint, mean_gross_profit_90d numeric,
               converter_rank bigint, non_converter_rank bigint)
LANGUAGE sql STABLE AS $$
WITH cut AS (
    SELECT coalesce(nullif(array_to_string(pp.path[1:s.path_max_steps], ' > '), ''), '(none)')
               AS path,
           least(cardinality(pp.path), s.path_max_steps) AS steps,
           pp.converted, pp.gross_profit_90d
    FROM models.person_paths pp
    JOIN models.dashboard_persons(p_from, p_to, p_dimension, p_segment) USING (person_id)
    CROSS JOIN models.settings s
), grouped AS (
    SELECT cut.path, min(cut.steps) AS steps, count(*) AS persons,
           count(*) FILTER (WHERE converted) AS converters,
           count(*) FILTER (WHERE NOT converted) AS non_converters,
           count(gross_profit_90d) AS persons_with_90d, sum(gross_profit_90d) AS profit
    FROM cut GROUP BY cut.path
), ranked AS (
    SELECT g.*,
           CASE WHEN converters > 0 THEN
               row_number() OVER (ORDER BY converters DESC, g.path) END AS converter_rank,
           CASE WHEN non_converters > 0 THEN
               row_number() OVER (ORDER BY non_converters DESC, g.path) END AS non_converter_rank
    FROM grouped g
), kept AS (
    SELECT r.*, coalesce(r.converter_rank <= s.path_top, false)
                OR coalesce(r.non_converter_rank <= s.path_top, false) AS top
    FROM ranked r CROSS JOIN models.settings s
)
SELECT k.path, k.steps, k.persons, k.converters, k.non_converters,
       k.converters::numeric / k.persons, k.persons_with_90d,
       k.profit / nullif(k.persons_with_90d, 0), k.converter_rank, k.non_converter_rank
FROM kept k WHERE k.top
UNION ALL
SELECT '(other)', NULL, sum(k.persons)::bigint, sum(k.converters)::bigint,
       sum(k.non_converters)::bigint, sum(k.converters)::numeric / sum(k.persons),
       sum(k.persons_with_90d)::bigint, sum(k.profit) / nullif(sum(k.persons_with_90d), 0),
       NULL, NULL
FROM kept k WHERE NOT k.top
HAVING count(*) > 0
$$;
