-- Each micro-conversion's daily counts by segment: the sessions of
-- session_segments, how many of them had it, and its occurrences in them
-- under the contract's frequency rule. A micro-conversion is an event whose
-- contract declares a funnel stage; those that occurred in the window have
-- a row for every day and segment, zeros included.
--
-- grain: one row per micro-conversion, day, channel and device type
-- kind: table
-- index: (event_name, day)
-- reads: session_segments, sessions, person_firsts, occurrences
WITH first AS (
    SELECT min(day)::timestamp AT TIME ZONE 'UTC' AS at FROM models.session_segments
), counted AS (
    SELECT o.event_name, (s.started_at AT TIME ZONE 'UTC')::date AS day, f.channel, f.device_type,
           count(*) AS occurrences, count(DISTINCT s.session_id) AS sessions_with
    FROM models.occurrences o
    JOIN models.contract_latest c ON c.event_name = o.event_name AND c.funnel_stage IS NOT NULL
    JOIN models.sessions s ON s.person_id = o.person_id AND s.session_number = o.session_number
    JOIN models.person_firsts f ON f.person_id = o.person_id
    -- a session that started on the first day may end a day later
    WHERE o.occurred_at >= (SELECT at FROM first) AND s.started_at >= (SELECT at FROM first)
    GROUP BY 1, 2, 3, 4
), micro AS (
    SELECT c.event_name, c.funnel_stage
    FROM models.contract_latest c
    WHERE EXISTS (SELECT 1 FROM counted WHERE counted.event_name = c.event_name)
)
SELECT m.event_name, m.funnel_stage, g.day, g.channel, g.device_type, g.sessions,
       coalesce(c.sessions_with, 0) AS sessions_with, coalesce(c.occurrences, 0) AS occurrences
FROM models.session_segments g
CROSS JOIN micro m
LEFT JOIN counted c ON c.event_name = m.event_name AND c.day = g.day AND c.channel = g.channel
                   AND c.device_type = g.device_type
