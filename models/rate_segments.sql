-- For each day the rate rule alerts on (rate_changes.alert), the share of
-- sessions with the event by first-touch channel and by device type, and
-- for all other traffic, each against what its cells (channel and device
-- type together) had in the 7 days before: like rate_changes' adjusted
-- rate, a change in the mix within a segment is not a change of its rate,
-- and cells not seen before are left out. A drop confined to one segment
-- shows as that segment falling while the rest holds.
--
-- grain: one row per alerting micro-conversion and day, dimension and segment
-- kind: table
-- reads: rate_changes, micro_rates
WITH alerting AS (
    SELECT event_name, day FROM models.rate_changes WHERE alert
), cells AS (
    SELECT a.event_name, a.day, t.channel, t.device_type, t.sessions, t.sessions_with,
           b.sessions AS before_sessions, b.sessions_with AS before_with,
           t.sessions * b.sessions_with::numeric / b.sessions AS expected_with
    FROM alerting a
    JOIN models.micro_rates t ON t.event_name = a.event_name AND t.day = a.day
    CROSS JOIN LATERAL (
        SELECT sum(p.sessions) AS sessions, sum(p.sessions_with) AS sessions_with
        FROM models.micro_rates p
        WHERE p.event_name = t.event_name AND p.channel = t.channel
          AND p.device_type = t.device_type AND p.day BETWEEN t.day - 7 AND t.day - 1
        HAVING sum(p.sessions) > 0) b
), by_segment AS (
    SELECT c.event_name, c.day, d.dimension, d.segment, sum(c.sessions) AS sessions,
           sum(c.sessions_with) AS sessions_with, sum(c.expected_with) AS expected_with,
           sum(c.before_sessions) AS before_sessions, sum(c.before_with) AS before_with
    FROM cells c
    CROSS JOIN LATERAL (VALUES ('channel', c.channel), ('device_type', c.device_type))
        AS d(dimension, segment)
    GROUP BY 1, 2, 3, 4
), with_rest AS (
    SELECT by_segment.*,
           sum(sessions) OVER w - sessions AS rest_sessions,
           sum(sessions_with) OVER w - sessions_with AS rest_with,
           sum(expected_with) OVER w - expected_with AS rest_expected_with
    FROM by_segment
    WINDOW w AS (PARTITION BY event_name, day, dimension)
)
SELECT event_name, day, dimension, segment, sessions, sessions_with,
       sessions_with::numeric / nullif(sessions, 0) AS share,
       before_with::numeric / nullif(before_sessions, 0) AS before_share,
       sessions_with / nullif(expected_with, 0) - 1 AS change,
       rest_sessions, rest_with::numeric / nullif(rest_sessions, 0) AS rest_share,
       rest_with / nullif(rest_expected_with, 0) - 1 AS rest_change
FROM with_rest
