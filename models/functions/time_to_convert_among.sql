-- Time to convert among the persons a filter selects
-- (models.dashboard_persons: NULL days and 'all' select everyone;
-- docs/analytics.md#models): for each micro-conversion, over the persons
-- who did it, the time from their first touch to their first occurrence of
-- it (under the contract's frequency rule), and from the start of the
-- session that occurrence is in: median and 75th percentile, in seconds;
-- and how many persons took under a minute, a minute to an hour, an hour
-- to a day, a day to a week, and a week or more from first touch. Page and
-- screen views are left out (models.first_occurrences).
-- models.time_to_convert is this for everyone; the dashboard's journeys
-- panel, for the persons its filter selects.
--
-- kind: function
-- reads: dashboard_persons, first_occurrences
CREATE OR REPLACE FUNCTION models.time_to_convert_among(p_from date, p_to date, p_dimension text,
                                                        p_segment text)
RETURNS TABLE (event_name text, persons bigint, median_seconds_from_first_touch double precision,
               p75_seconds_from_first_touch double precision,
               median_seconds_from_session_start double precision,
               p75_seconds_from_session_start double precision, under_1_minute bigint,
               under_1_hour bigint, under_1_day bigint, under_1_week bigint, over_1_week bigint)
LANGUAGE sql STABLE AS $$
WITH timed AS (
    SELECT f.event_name, f.seconds_from_first_touch AS from_first_touch,
           f.seconds_from_session_start AS from_session_start
    FROM models.first_occurrences f
    JOIN models.dashboard_persons(p_from, p_to, p_dimension, p_segment) USING (person_id)
)
SELECT timed.event_name, count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY from_first_touch),
       percentile_cont(0.75) WITHIN GROUP (ORDER BY from_first_touch),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY from_session_start),
       percentile_cont(0.75) WITHIN GROUP (ORDER BY from_session_start),
       count(*) FILTER (WHERE from_first_touch < 60),
       count(*) FILTER (WHERE from_first_touch >= 60 AND from_first_touch < 3600),
       count(*) FILTER (WHERE from_first_touch >= 3600 AND from_first_touch < 86400),
       count(*) FILTER (WHERE from_first_touch >= 86400 AND from_first_touch < 604800),
       count(*) FILTER (WHERE from_first_touch >= 604800)
FROM timed
GROUP BY timed.event_name
$$;
