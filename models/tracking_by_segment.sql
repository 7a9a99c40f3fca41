-- Events per event name, UTC day of receipt and first-touch channel and device
-- type of their person (tracking_health's counts, by segment). Events without
-- a person (kept without consent) are in no segment.
--
-- grain: one row per event name, day, channel and device type
-- kind: table
-- reads: person_events, person_firsts
SELECT pe.event_name, pe.received_day AS day, p.channel, p.device_type,
       count(*) AS events,
       count(*) FILTER (WHERE pe.sources = 'browser') AS browser_only,
       count(*) FILTER (WHERE pe.sources = 'server') AS server_only,
       count(*) FILTER (WHERE pe.sources = 'both') AS both_sources,
       array_agg(DISTINCT pe.schema_version ORDER BY pe.schema_version) AS schema_versions
FROM models.person_events pe
JOIN models.person_firsts p USING (person_id)
GROUP BY 1, 2, 3, 4
