-- Time to convert (docs/analytics.md): for each micro-conversion, over the
-- persons who did it, the time from their first touch to their first
-- occurrence of it (under the contract's frequency rule), and from the
-- start of the session that occurrence is in: median and 75th percentile,
-- in seconds. Page and screen views are left out.
--
-- grain: one row per micro-conversion
-- kind: table
-- index: unique (event_name)
-- reads: occurrences, sessions, person_firsts
WITH first AS (
    SELECT DISTINCT ON (o.person_id, o.event_name)
           o.person_id, o.event_name, o.occurred_at, o.session_number
    FROM models.occurrences o
    WHERE o.event_name NOT IN ('page_view', 'screen_view')
    ORDER BY o.person_id, o.event_name, o.occurred_at, o.event_id
), timed AS (
    SELECT f.event_name, extract(epoch FROM f.occurred_at - p.first_seen) AS from_first_touch,
           extract(epoch FROM f.occurred_at - s.started_at) AS from_session_start
    FROM first f
    JOIN models.person_firsts p USING (person_id)
    JOIN models.sessions s ON s.session_id = f.person_id || '#' || f.session_number
)
SELECT event_name, count(*) AS persons,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY from_first_touch) AS median_seconds_from_first_touch,
       percentile_cont(0.75) WITHIN GROUP (ORDER BY from_first_touch) AS p75_seconds_from_first_touch,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY from_session_start)
           AS median_seconds_from_session_start,
       percentile_cont(0.75) WITHIN GROUP (ORDER BY from_session_start)
           AS p75_seconds_from_session_start
FROM timed
GROUP BY event_name
