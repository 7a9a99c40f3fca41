-- Alerts on days in the range, newest first, by the rules of
-- tracking_health: a day more than settings.alert_volume_drop below its
-- trailing 7-day mean (the segment's own series under a segment), a
-- rejection rate over settings.alert_rejection_rate (all traffic).
--
-- kind: function
-- reads: dashboard_volume, tracking_health
CREATE OR REPLACE FUNCTION models.dashboard_alerts(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (day date, event_name text, kind text, events bigint, trailing_7d_mean numeric,
               volume_ratio numeric, rejected bigint, rejection_rate numeric, all_traffic boolean)
LANGUAGE sql STABLE AS $$
WITH series AS (
    SELECT t.event_name, t.day, t.partial_day, t.rejected, t.rejection_rate,
           CASE WHEN p_dimension = 'all' THEN t.events ELSE coalesce(v.events, 0) END AS events
    FROM models.tracking_health t
    LEFT JOIN models.dashboard_volume(NULL, NULL, p_dimension, p_segment) v
           ON p_dimension <> 'all' AND v.event_name = t.event_name AND v.day = t.day
), windowed AS (
    SELECT series.*,
           CASE WHEN count(*) OVER w = 7 THEN avg(events) OVER w END AS trailing_7d_mean
    FROM series
    WINDOW w AS (PARTITION BY event_name ORDER BY day ROWS BETWEEN 7 PRECEDING AND 1 PRECEDING)
)
SELECT t.day, t.event_name, 'volume_drop', t.events, t.trailing_7d_mean,
       t.events / t.trailing_7d_mean, t.rejected, t.rejection_rate, p_dimension = 'all'
FROM windowed t, models.settings s
WHERE models.dashboard_in_range(t.day, p_from, p_to)
  AND NOT t.partial_day AND t.trailing_7d_mean > 0
  AND t.events < (1 - s.alert_volume_drop) * t.trailing_7d_mean
UNION ALL
SELECT t.day, t.event_name, 'rejection_rate', t.events, t.trailing_7d_mean,
       t.events / nullif(t.trailing_7d_mean, 0), t.rejected, t.rejection_rate, true
FROM windowed t, models.settings s
WHERE models.dashboard_in_range(t.day, p_from, p_to)
  AND t.rejection_rate > s.alert_rejection_rate
ORDER BY 1 DESC, 2, 3
$$;
