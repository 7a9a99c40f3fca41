-- Where persons drop out of the funnels among the persons the filter
-- selects: models.drop_off when the filter selects everyone, else
-- models.drop_off_among. Every step for everyone, and at each step the 10
-- credibly worst segments of each dimension.
--
-- kind: function
-- reads: drop_off, drop_off_among
CREATE OR REPLACE FUNCTION models.dashboard_drop_off(p_from date, p_to date, p_dimension text,
                                                     p_segment text)
RETURNS SETOF models.drop_off
LANGUAGE sql STABLE AS $$
SELECT * FROM (
    SELECT * FROM models.drop_off WHERE models.dashboard_unfiltered(p_from, p_to, p_dimension)
    UNION ALL
    SELECT * FROM models.drop_off_among(p_from, p_to, p_dimension, p_segment)
    WHERE NOT models.dashboard_unfiltered(p_from, p_to, p_dimension)
) d
WHERE d.dimension = 'all' OR d.worst_rank <= 10
ORDER BY d.funnel, d.step, d.dimension <> 'all', d.dimension, d.worst_rank
$$;
