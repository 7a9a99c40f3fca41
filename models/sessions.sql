-- Sessions, with the channel, landing page and device type of the first
-- event in each that carries one (the functions run on those events only).
--
-- grain: one row per session
-- kind: table
-- index: unique (session_id)
-- reads: person_events
WITH grouped AS (
    SELECT pe.person_id, pe.session_number,
           min(pe.occurred_at) AS started_at, max(pe.occurred_at) AS ended_at, count(*) AS events,
           (array_agg(pe.event_id ORDER BY pe.occurred_at, pe.event_id) FILTER (WHERE pe.has_touch))[1]
               AS touch_event,
           (array_agg(pe.event_id ORDER BY pe.occurred_at, pe.event_id)
                FILTER (WHERE pe.event_type = 'page'))[1] AS page_event,
           (array_agg(pe.event_id ORDER BY pe.occurred_at, pe.event_id) FILTER (WHERE pe.has_device))[1]
               AS device_event
    FROM models.person_events pe
    GROUP BY pe.person_id, pe.session_number
)
SELECT g.person_id || '#' || g.session_number AS session_id, g.person_id, g.session_number,
       g.started_at, g.ended_at, g.events,
       (SELECT models.touch_channel(e.event_type, e.context, e.properties)
        FROM events e WHERE e.event_id = g.touch_event) AS channel,
       (SELECT models.page_path(e.context, e.properties)
        FROM events e WHERE e.event_id = g.page_event) AS landing_page,
       (SELECT models.device_type(e.context) FROM events e WHERE e.event_id = g.device_event)
           AS device_type
FROM grouped g
