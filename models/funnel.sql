-- Each funnel's steps: persons reaching them, the rates from the previous
-- and the first step, and the median time to the next, for everyone and by
-- first-touch device type and channel.
--
-- grain: one row per funnel, dimension, segment and step
-- kind: table
-- index: unique (funnel, dimension, segment, step)
-- reads: funnel_progress, person_firsts
WITH progress AS (
    SELECT f.funnel, f.step, f.person_id, f.reached_at,
           next_step.reached_at - f.reached_at AS time_to_next,
           p.device_type, p.channel
    FROM models.funnel_progress f
    JOIN models.person_firsts p USING (person_id)
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
    -- Every step of every segment, also those nobody reached.
    SELECT s.funnel, s.step, s.event_name, seg.dimension, seg.segment
    FROM models.funnel_steps s
    JOIN (SELECT DISTINCT funnel, dimension, segment FROM counted) seg USING (funnel)
)
SELECT st.funnel, st.step, st.event_name, st.dimension, st.segment,
       coalesce(c.persons, 0) AS persons,
       coalesce(c.persons, 0)::numeric
           / nullif(lag(coalesce(c.persons, 0)) OVER w, 0) AS rate_from_previous,
       coalesce(c.persons, 0)::numeric / nullif(first_value(coalesce(c.persons, 0)) OVER w, 0)
           AS rate_from_first,
       c.median_seconds_to_next
FROM steps st
LEFT JOIN counted c USING (funnel, step, dimension, segment)
WINDOW w AS (PARTITION BY st.funnel, st.dimension, st.segment ORDER BY st.step)
