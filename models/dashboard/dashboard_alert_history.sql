-- The alerts raised (docs/alerts.md) whose problem overlaps the range, open
-- ones first, then the newest: one row per alert with its rules, likely
-- cause and summary, at most 100. Alerts are judged on all traffic: a
-- segment selects them all.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.dashboard_alert_history(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (alert_id bigint, subject_type text, subject text, state text, rules text[],
               since date, last_day date, raised_at timestamptz, resolved_at timestamptz,
               cause text, likely_cause text, summary text)
LANGUAGE sql STABLE AS $$
SELECT a.alert_id, a.subject_type, a.subject, a.state, a.rules, a.since, a.last_day, a.raised_at,
       a.resolved_at, a.cause, a.likely_cause, a.summary
FROM alerts a
WHERE (p_to IS NULL OR a.since <= p_to) AND (p_from IS NULL OR a.last_day >= p_from)
ORDER BY a.state = 'open' DESC, a.raised_at DESC, a.alert_id DESC
LIMIT 100
$$;
