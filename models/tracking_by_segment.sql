-- Events per event name, UTC day of receipt and first-touch channel and device
-- type of their person (tracking_health's counts, by segment). Events without
-- a person (kept without consent) are in no segment.
--
-- grain: one row per event name, day, channel and device type
-- kind: table
-- reads: person_events, person_firsts
WITH received AS (
    -- (a join of its own: on Citus, the events and their persons are
    -- spread by different keys)
    SELECT pe.person_id, e.event_name, e.received_at, e.sources, e.schema_version
    FROM models.person_events pe
    JOIN events e USING (event_id)
)
SELECT e.event_name, (e.received_at AT TIME ZONE 'UTC')::date AS day, p.channel, p.device_type,
       count(*) AS events,
       count(*) FILTER (WHERE e.sources = 'browser') AS browser_only,
       count(*) FILTER (WHERE e.sources = 'server') AS server_only,
       count(*) FILTER (WHERE e.sources = 'both') AS both_sources,
       array_agg(DISTINCT e.schema_version ORDER BY e.schema_version) AS schema_versions
FROM received e
JOIN models.person_firsts p USING (person_id)
GROUP BY 1, 2, 3, 4
