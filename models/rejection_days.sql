-- Rejected copies per event name, UTC day of receipt, the day the message
-- says it happened (models.message_day) and where it failed first (the
-- path of its first error). Copies refused as source_not_allowed (a page
-- sending what only a backend may) are left out, as the alert rules leave
-- them out. What alert_candidates reads of rejections.
--
-- grain: one row per event name, day of receipt, day of the message and path
-- kind: table
-- index: (event_name, received_day)
-- reads: (no model)
SELECT event_name, (received_at AT TIME ZONE 'UTC')::date AS received_day,
       models.message_day(raw_event) AS day, coalesce(errors -> 0 ->> 'path', '') AS path,
       count(*) AS rejected
FROM bad_events
WHERE reason <> 'source_not_allowed' AND event_name IS NOT NULL
GROUP BY 1, 2, 3, 4
