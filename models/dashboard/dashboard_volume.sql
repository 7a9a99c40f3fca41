-- Events per day and event name in the range: all received (the segment
-- 'all'), or those of the segment's persons. Rejections have no person:
-- under a segment they are NULL.
--
-- kind: function
-- reads: tracking_by_segment, tracking_health
CREATE OR REPLACE FUNCTION models.dashboard_volume(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (day date, event_name text, events bigint, browser_only bigint, server_only bigint,
               both_sources bigint, rejected bigint, schema_versions text[])
LANGUAGE sql STABLE AS $$
WITH selected AS (
    SELECT s.* FROM models.tracking_by_segment s
    WHERE p_dimension <> 'all'
      AND models.dashboard_in_range(s.day, p_from, p_to)
      AND CASE p_dimension WHEN 'channel' THEN s.channel = p_segment
                           WHEN 'device_type' THEN s.device_type = p_segment END
), versions AS (
    SELECT s.event_name, s.day, array_agg(DISTINCT v ORDER BY v) AS schema_versions
    FROM selected s CROSS JOIN LATERAL unnest(s.schema_versions) v
    GROUP BY s.event_name, s.day
), segment AS (
    SELECT s.event_name, s.day, sum(s.events)::bigint AS events,
           sum(s.browser_only)::bigint AS browser_only, sum(s.server_only)::bigint AS server_only,
           sum(s.both_sources)::bigint AS both_sources, versions.schema_versions
    FROM selected s JOIN versions USING (event_name, day)
    GROUP BY s.event_name, s.day, versions.schema_versions
)
SELECT t.day, t.event_name,
       CASE WHEN p_dimension = 'all' THEN t.events ELSE coalesce(s.events, 0) END,
       CASE WHEN p_dimension = 'all' THEN t.browser_only ELSE coalesce(s.browser_only, 0) END,
       CASE WHEN p_dimension = 'all' THEN t.server_only ELSE coalesce(s.server_only, 0) END,
       CASE WHEN p_dimension = 'all' THEN t.both_sources ELSE coalesce(s.both_sources, 0) END,
       CASE WHEN p_dimension = 'all' THEN t.rejected END,
       CASE WHEN p_dimension = 'all' THEN t.schema_versions ELSE coalesce(s.schema_versions, '{}') END
FROM models.tracking_health t
LEFT JOIN segment s USING (event_name, day)
WHERE models.dashboard_in_range(t.day, p_from, p_to)
ORDER BY t.day, t.event_name
$$;
