-- Per event name over the range: volume, where it was seen, schema versions
-- in use, rejections (NULL under a segment), and the funnel stage its
-- contract declares.
--
-- kind: function
-- reads: dashboard_volume
CREATE OR REPLACE FUNCTION models.dashboard_tracking(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (event_name text, events bigint, browser_only bigint, server_only bigint,
               both_sources bigint, rejected bigint, rejection_rate numeric, schema_versions text[],
               funnel_stage text)
LANGUAGE sql STABLE AS $$
WITH volume AS (
    SELECT * FROM models.dashboard_volume(p_from, p_to, p_dimension, p_segment)
), versions AS (
    SELECT v.event_name, array_agg(DISTINCT x ORDER BY x) AS schema_versions
    FROM volume v CROSS JOIN LATERAL unnest(v.schema_versions) x
    GROUP BY v.event_name
)
SELECT v.event_name, sum(v.events)::bigint, sum(v.browser_only)::bigint, sum(v.server_only)::bigint,
       sum(v.both_sources)::bigint, sum(v.rejected)::bigint,
       sum(v.rejected)::numeric / nullif(sum(v.events) + sum(v.rejected), 0),
       coalesce(x.schema_versions, '{}'), c.funnel_stage
FROM volume v
LEFT JOIN versions x USING (event_name)
LEFT JOIN models.contract_latest c USING (event_name)
GROUP BY v.event_name, x.schema_versions, c.funnel_stage
ORDER BY sum(v.events) DESC, v.event_name
$$;
