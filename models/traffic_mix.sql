-- The traffic mix: each first-touch channel's and device type's share of
-- a day's sessions, against its share of the 7 days before (pooled).
--
-- grain: one row per day, dimension (channel, device_type) and segment
-- kind: table
-- index: (day)
-- reads: session_segments
WITH by_segment AS (
    SELECT g.day, d.dimension, d.segment, sum(g.sessions) AS sessions
    FROM models.session_segments g
    CROSS JOIN LATERAL (VALUES ('channel', g.channel), ('device_type', g.device_type))
        AS d(dimension, segment)
    GROUP BY 1, 2, 3
), days AS (
    SELECT DISTINCT day FROM models.session_segments
), compared AS (
    SELECT t.day, s.dimension, s.segment,
           coalesce(sum(s.sessions) FILTER (WHERE s.day = t.day), 0) AS sessions,
           coalesce(sum(s.sessions) FILTER (WHERE s.day < t.day), 0) AS before_sessions
    FROM days t
    JOIN by_segment s ON s.day BETWEEN t.day - 7 AND t.day
    WHERE t.day >= (SELECT min(day) FROM days) + 7
    GROUP BY 1, 2, 3
)
SELECT day, dimension, segment, sessions,
       sessions::numeric / nullif(sum(sessions) OVER w, 0) AS share,
       before_sessions::numeric / nullif(sum(before_sessions) OVER w, 0) AS before_share,
       sessions::numeric / nullif(sum(sessions) OVER w, 0)
           - before_sessions::numeric / nullif(sum(before_sessions) OVER w, 0) AS share_change
FROM compared
WINDOW w AS (PARTITION BY day, dimension)
