-- Rejected messages per reason and event name over the range (all traffic:
-- a rejected message has no person, so a segment selects none).
--
-- kind: function
-- reads: tracking_health
CREATE OR REPLACE FUNCTION models.dashboard_rejections(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (reason text, event_name text, rejected bigint)
LANGUAGE sql STABLE AS $$
SELECT r.key, t.event_name, sum(r.value::bigint)::bigint
FROM models.tracking_health t
CROSS JOIN LATERAL jsonb_each_text(t.rejection_reasons) r
WHERE p_dimension = 'all' AND models.dashboard_in_range(t.day, p_from, p_to)
GROUP BY r.key, t.event_name
ORDER BY 3 DESC, 1, 2
$$;
