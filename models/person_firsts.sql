-- First touch: the first session that carries each of channel, landing page
-- and device type.
--
-- grain: one row per person
-- kind: table
-- index: unique (person_id)
-- reads: sessions
SELECT person_id, min(started_at) AS first_seen,
       coalesce((array_agg(channel ORDER BY session_number) FILTER (WHERE channel IS NOT NULL))[1],
                'direct') AS channel,
       coalesce((array_agg(landing_page ORDER BY session_number) FILTER (WHERE landing_page IS NOT NULL))[1],
                '(none)') AS landing_page,
       coalesce((array_agg(device_type ORDER BY session_number) FILTER (WHERE device_type IS NOT NULL))[1],
                'unknown') AS device_type
FROM models.sessions
GROUP BY person_id
