-- Each person's first occurrence of each micro-conversion (under the
-- contract's frequency rule; page and screen views left out), timed from
-- their first touch and from the start of the session it is in. Time to
-- convert sums these, for everyone and for the dashboard's filters.
--
-- grain: one row per person and micro-conversion they did
-- kind: table
-- index: (person_id)
-- reads: occurrences, person_firsts, sessions
WITH first AS (
    SELECT DISTINCT ON (o.person_id, o.event_name)
           o.person_id, o.event_name, o.occurred_at, o.session_number
    FROM models.occurrences o
    WHERE o.event_name NOT IN ('page_view', 'screen_view')
    ORDER BY o.person_id, o.event_name, o.occurred_at, o.event_id
)
SELECT f.person_id, f.event_name, f.occurred_at,
       extract(epoch FROM f.occurred_at - p.first_seen)::float8 AS seconds_from_first_touch,
       extract(epoch FROM f.occurred_at - s.started_at)::float8 AS seconds_from_session_start
FROM first f
JOIN models.person_firsts p USING (person_id)
JOIN models.sessions s ON s.person_id = f.person_id AND s.session_number = f.session_number
