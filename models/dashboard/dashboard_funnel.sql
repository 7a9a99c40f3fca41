-- The funnels among the persons the filter selects, for them all and split
-- by first-touch device type and channel: models.funnel when the filter
-- selects everyone, else models.funnel_among.
--
-- kind: function
-- reads: funnel, funnel_among
CREATE OR REPLACE FUNCTION models.dashboard_funnel(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS SETOF models.funnel
LANGUAGE sql STABLE AS $$
SELECT * FROM (
    SELECT * FROM models.funnel WHERE models.dashboard_unfiltered(p_from, p_to, p_dimension)
    UNION ALL
    SELECT * FROM models.funnel_among(p_from, p_to, p_dimension, p_segment)
    WHERE NOT models.dashboard_unfiltered(p_from, p_to, p_dimension)
) f
ORDER BY funnel, CASE dimension WHEN 'all' THEN 0 WHEN 'device_type' THEN 1 ELSE 2 END, segment, step
$$;
