-- The funnels among the persons the filter selects, for them all and split
-- by first-touch device type and channel (funnel's definitions).
--
-- kind: function
-- reads: funnel, funnel_progress
CREATE OR REPLACE FUNCTION models.dashboard_funnel(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (funnel text, step integer, event_name text, dimension text, segment text,
               persons bigint, rate_from_previous numeric, rate_from_first numeric,
               median_seconds_to_next double precision)
LANGUAGE sql STABLE AS $$
SELECT * FROM (
    SELECT funnel, step, event_name, dimension, segment, persons, rate_from_previous,
           rate_from_first, median_seconds_to_next
    FROM models.funnel
    WHERE models.dashboard_unfiltered(p_from, p_to, p_dimension)
    UNION ALL
    SELECT * FROM (
WITH persons AS (
    SELECT * FROM models.dashboard_persons(p_from, p_to, p_dimension, p_segment)
), progress AS (
    SELECT f.funnel, f.step, f.person_id,
           next_step.reached_at - f.reached_at AS time_to_next, p.device_type, p.channel
    FROM models.funnel_progress f
    JOIN persons p USING (person_id)
    LEFT JOIN models.funnel_progress next_step
           ON next_step.funnel = f.funnel AND next_step.person_id = f.person_id
          AND next_step.step = f.step + 1
), counted AS (
    SELECT funnel, step,
           CASE WHEN GROUPING(device_type) = 0 THEN 'device_type'
                WHEN GROUPING(channel) = 0 THEN 'channel' ELSE 'all' END AS dimension,
           coalesce(CASE WHEN GROUPING(device_type) = 0 THEN device_type
                         WHEN GROUPING(channel) = 0 THEN channel END, 'all') AS segment,
           count(*) AS persons,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM time_to_next))
               FILTER (WHERE time_to_next IS NOT NULL) AS median_seconds_to_next
    FROM progress
    GROUP BY GROUPING SETS ((funnel, step), (funnel, step, device_type), (funnel, step, channel))
), steps AS (
    SELECT s.funnel, s.step, s.event_name, seg.dimension, seg.segment
    FROM models.funnel_steps s
    JOIN (SELECT DISTINCT funnel, dimension, segment FROM counted) seg USING (funnel)
)
SELECT st.funnel, st.step, st.event_name, st.dimension, st.segment,
       coalesce(c.persons, 0),
       coalesce(c.persons, 0)::numeric / nullif(lag(coalesce(c.persons, 0)) OVER w, 0),
       coalesce(c.persons, 0)::numeric / nullif(first_value(coalesce(c.persons, 0)) OVER w, 0),
       c.median_seconds_to_next
FROM steps st
LEFT JOIN counted c USING (funnel, step, dimension, segment)
WINDOW w AS (PARTITION BY st.funnel, st.dimension, st.segment ORDER BY st.step)
    ) filtered
    WHERE NOT models.dashboard_unfiltered(p_from, p_to, p_dimension)
) f
ORDER BY funnel, CASE dimension WHEN 'all' THEN 0 WHEN 'device_type' THEN 1 ELSE 2 END, segment, step
$$;
