-- Sessions, with the channel, landing page and device type of the first
-- event in each that carries one (the functions run on those events only).
--
-- grain: one row per session
-- kind: table
-- distribute: person_id
-- index: unique (person_id, session_number)
-- reads: person_events
WITH grouped AS MATERIALIZED (
    -- (gathered first: on Citus the sessions are grouped on the workers,
    -- and the few events looked up by id are found on their shards)
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
       -- An event the session lacks is no row here, and says nothing.
       CASE WHEN t.event_id IS NOT NULL
            THEN models.touch_channel(t.event_type, t.context, t.properties) END AS channel,
       CASE WHEN p.event_id IS NOT NULL THEN models.page_path(p.context, p.properties) END
           AS landing_page,
       CASE WHEN d.event_id IS NOT NULL THEN models.device_type(d.context) END AS device_type
FROM grouped g
LEFT JOIN events t ON t.event_id = g.touch_event
LEFT JOIN events p ON p.event_id = g.page_event
LEFT JOIN events d ON d.event_id = g.device_event
