-- Tracking health per event name and UTC day of receipt. Browser copies of
-- server-only events (refused as source_not_allowed while the server copy is
-- stored) are expected and are not counted as rejections.
--
-- grain: one row per event name and day
-- kind: table
-- index: unique (event_name, day)
-- reads: (no model)
WITH valid AS (
    SELECT event_name, (received_at AT TIME ZONE 'UTC')::date AS day,
           count(*) AS events,
           count(*) FILTER (WHERE sources = 'browser') AS browser_only,
           count(*) FILTER (WHERE sources = 'server') AS server_only,
           count(*) FILTER (WHERE sources = 'both') AS both_sources,
           array_agg(DISTINCT schema_version ORDER BY schema_version) AS schema_versions
    FROM events
    GROUP BY 1, 2
), refused_copies AS MATERIALIZED (
    -- Browser copies of server-only events, gathered first so that they
    -- meet their events by the events' own id.
    SELECT bad_event_id, event_id FROM bad_events
    WHERE reason = 'source_not_allowed' AND source = 'browser'
), expected AS MATERIALIZED (
    SELECT r.bad_event_id FROM refused_copies r JOIN events e USING (event_id)
), rejections AS (
    SELECT coalesce(b.event_name, '(unnamed)') AS event_name,
           (b.received_at AT TIME ZONE 'UTC')::date AS day, b.reason
    FROM bad_events b
    LEFT JOIN expected x ON x.bad_event_id = b.bad_event_id
    WHERE x.bad_event_id IS NULL
), rejected AS (
    SELECT event_name, day, sum(n) AS rejected, jsonb_object_agg(reason, n) AS rejection_reasons
    FROM (SELECT event_name, day, reason, count(*) AS n FROM rejections GROUP BY 1, 2, 3) per_reason
    GROUP BY 1, 2
), seen AS (
    SELECT event_name, day FROM valid UNION SELECT event_name, day FROM rejected
), bounds AS (
    SELECT event_name, min(day) AS first_day FROM seen GROUP BY event_name
), last AS (
    SELECT max(day) AS last_day FROM seen
), days AS (
    SELECT b.event_name, d::date AS day
    FROM bounds b CROSS JOIN last l
    CROSS JOIN LATERAL generate_series(b.first_day, l.last_day, interval '1 day') d
), filled AS (
    SELECT d.event_name, d.day,
           coalesce(v.events, 0) AS events,
           coalesce(v.browser_only, 0) AS browser_only,
           coalesce(v.server_only, 0) AS server_only,
           coalesce(v.both_sources, 0) AS both_sources,
           coalesce(v.schema_versions, '{}') AS schema_versions,
           coalesce(r.rejected, 0) AS rejected,
           coalesce(r.rejection_reasons, '{}') AS rejection_reasons,
           d.day = (SELECT last_day FROM last) AS partial_day
    FROM days d
    LEFT JOIN valid v USING (event_name, day)
    LEFT JOIN rejected r USING (event_name, day)
), with_trailing AS (
    SELECT filled.*,
           CASE WHEN count(*) OVER w = 7 THEN avg(events) OVER w END AS trailing_7d_mean
    FROM filled
    WINDOW w AS (PARTITION BY event_name ORDER BY day ROWS BETWEEN 7 PRECEDING AND 1 PRECEDING)
)
SELECT t.event_name, t.day, t.events, t.browser_only, t.server_only, t.both_sources,
       t.schema_versions, t.rejected, t.rejection_reasons, t.partial_day,
       t.trailing_7d_mean,
       t.events / nullif(t.trailing_7d_mean, 0) AS volume_ratio,
       t.rejected::numeric / nullif(t.events + t.rejected, 0) AS rejection_rate,
       coalesce(NOT t.partial_day AND t.trailing_7d_mean > 0
                    AND t.events < (1 - (SELECT alert_volume_drop FROM models.settings)) * t.trailing_7d_mean,
                false)
           OR coalesce(t.rejected::numeric / nullif(t.events + t.rejected, 0)
                           > (SELECT alert_rejection_rate FROM models.settings), false)
           AS alert
FROM with_trailing t
