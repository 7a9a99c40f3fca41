-- Stored events per event name, UTC day of occurrence and contract
-- version, with the latest receipt among them: what the alert rules read of
-- the events themselves, so that alert_candidates reads models only.
--
-- grain: one row per event name, day and schema version
-- kind: table
-- index: (event_name, day)
-- reads: (no model)
SELECT event_name, (occurred_at AT TIME ZONE 'UTC')::date AS day, schema_version,
       count(*) AS events, max(received_at) AS last_received_at
FROM events
GROUP BY 1, 2, 3
