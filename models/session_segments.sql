-- Sessions per UTC day of their start, by the first-touch channel and
-- device type of their person, over the last 36 days of sessions: the
-- alerts compare the latest complete day with the 7 before it, and the
-- dashboard shows four weeks.
--
-- grain: one row per day, channel and device type
-- kind: table
-- index: unique (day, channel, device_type)
-- reads: sessions, person_firsts
SELECT (s.started_at AT TIME ZONE 'UTC')::date AS day, f.channel, f.device_type,
       count(*) AS sessions
FROM models.sessions s
JOIN models.person_firsts f USING (person_id)
WHERE s.started_at >= (SELECT date_trunc('day', max(started_at) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                       FROM models.sessions) - interval '35 days'
GROUP BY 1, 2, 3
