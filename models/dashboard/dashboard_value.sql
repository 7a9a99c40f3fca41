-- Value classes of the micro-conversions among the persons the filter
-- selects: models.event_value when the filter selects everyone, else
-- models.event_value_among.
--
-- kind: function
-- reads: event_value, event_value_among
CREATE OR REPLACE FUNCTION models.dashboard_value(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS SETOF models.event_value
LANGUAGE sql STABLE AS $$
SELECT * FROM (
    SELECT * FROM models.event_value WHERE models.dashboard_unfiltered(p_from, p_to, p_dimension)
    UNION ALL
    SELECT * FROM models.event_value_among(p_from, p_to, p_dimension, p_segment)
    WHERE NOT models.dashboard_unfiltered(p_from, p_to, p_dimension)
) v
ORDER BY relative_uplift DESC NULLS LAST, event_name
$$;
