-- Each funnel's steps among the persons a filter selects
-- (models.dashboard_persons: NULL days and 'all' select everyone): persons
-- reaching each step, the rates from the previous and the first step, and
-- the median time to the next, for them all and by first-touch device type
-- and channel. models.funnel is this for everyone; the dashboard's funnel
-- panel, for the persons its filter selects.
--
-- kind: function
-- reads: dashboard_persons, funnel_progress
CREATE OR REPLACE FUNCTION models.funnel_among(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (funnel text, step integer, event_name text, dimension text, segment text,
               persons bigint, rate_from_previous numeric, rate_from_first numeric,
               median_seconds_to_next double precision)
LANGUAGE sql STABLE AS $$
WITH progress AS (
    SELECT f.funnel, f.step, f.person_id,
           next_step.reached_at - f.reached_at AS time_to_next,
           p.device_type, p.channel
    FROM models.funnel_progress f
    JOIN models.dashboard_persons(p_from, p_to, p_dimension, p_segment) p USING (person_id)
    LEFT JOIN models.funnel_progress next_step
           ON next_step.funnel = f.funnel AND next_step.person_id = f.person_id
          AND next_step.step = f.step + 1
), counted AS (
    SELECT progress.funnel, progress.step,
           CASE WHEN GROUPING(device_type) = 0 THEN 'device_type'
                WHEN GROUPING(channel) = 0 THEN 'channel' ELSE 'all' END AS dimension,
           coalesce(CASE WHEN GROUPING(device_type) = 0 THEN device_type
                         WHEN GROUPING(channel) = 0 THEN channel END, 'all') AS segment,
           count(*) AS persons,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM time_to_next))
               FILTER (WHERE time_to_next IS NOT NULL) AS median_seconds_to_next
    FROM progress
    GROUP BY GROUPING SETS ((progress.funnel, progress.step),
                            (progress.funnel, progress.step, device_type),
                            (progress.funnel, progress.step, channel))
), steps AS (
    -- Every step of every segment, also those nobody reached.
    SELECT s.funnel, s.step, s.event_name, seg.dimension, seg.segment
    FROM models.funnel_steps s
    JOIN (SELECT DISTINCT c.funnel, c.dimension, c.segment FROM counted c) seg USING (funnel)
)
SELECT st.funnel, st.step, st.event_name, st.dimension, st.segment,
       coalesce(c.persons, 0),
       coalesce(c.persons, 0)::numeric / nullif(lag(coalesce(c.persons, 0)) OVER w, 0),
       coalesce(c.persons, 0)::numeric / nullif(first_value(coalesce(c.persons, 0)) OVER w, 0),
       c.median_seconds_to_next
FROM steps st
LEFT JOIN counted c USING (funnel, step, dimension, segment)
WINDOW w AS (PARTITION BY st.funnel, st.dimension, st.segment ORDER BY st.step)
$$;
