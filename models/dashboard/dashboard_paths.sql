-- The most common paths among the persons the filter selects: models.paths
-- when the filter selects everyone, else models.paths_among. Ordered by
-- persons.
--
-- kind: function
-- reads: paths, paths_among
CREATE OR REPLACE FUNCTION models.dashboard_paths(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS SETOF models.paths
LANGUAGE sql STABLE AS $$
SELECT * FROM (
    SELECT * FROM models.paths WHERE models.dashboard_unfiltered(p_from, p_to, p_dimension)
    UNION ALL
    SELECT * FROM models.paths_among(p_from, p_to, p_dimension, p_segment)
    WHERE NOT models.dashboard_unfiltered(p_from, p_to, p_dimension)
) p
ORDER BY p.path = '(other)', p.persons DESC, p.path
$$;
