-- Converters' paths against non-converters' among the persons the filter
-- selects: models.path_comparison when the filter selects everyone, else
-- models.path_comparison_among. Micro-conversions first, then pairs; each
-- by how much more common it is among converters.
--
-- kind: function
-- reads: path_comparison, path_comparison_among
CREATE OR REPLACE FUNCTION models.dashboard_path_comparison(p_from date, p_to date, p_dimension text,
                                                            p_segment text)
RETURNS SETOF models.path_comparison
LANGUAGE sql STABLE AS $$
SELECT * FROM (
    SELECT * FROM models.path_comparison WHERE models.dashboard_unfiltered(p_from, p_to, p_dimension)
    UNION ALL
    SELECT * FROM models.path_comparison_among(p_from, p_to, p_dimension, p_segment)
    WHERE NOT models.dashboard_unfiltered(p_from, p_to, p_dimension)
) c
ORDER BY c.kind = 'pair', c.difference DESC NULLS LAST, c.first_event, c.second_event
$$;
