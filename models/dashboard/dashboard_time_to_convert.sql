-- Time to convert among the persons the filter selects:
-- models.time_to_convert when the filter selects everyone, else
-- models.time_to_convert_among. Ordered by the median from first touch.
--
-- kind: function
-- reads: time_to_convert, time_to_convert_among
CREATE OR REPLACE FUNCTION models.dashboard_time_to_convert(p_from date, p_to date, p_dimension text,
                                                            p_segment text)
RETURNS SETOF models.time_to_convert
LANGUAGE sql STABLE AS $$
SELECT * FROM (
    SELECT * FROM models.time_to_convert WHERE models.dashboard_unfiltered(p_from, p_to, p_dimension)
    UNION ALL
    SELECT * FROM models.time_to_convert_among(p_from, p_to, p_dimension, p_segment)
    WHERE NOT models.dashboard_unfiltered(p_from, p_to, p_dimension)
) t
ORDER BY t.median_seconds_from_first_touch, t.event_name
$$;
