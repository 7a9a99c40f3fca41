-- The data dictionary's facts (docs/dashboard.md) for every event a
-- contract defines: its events and rejected copies in the 7 days up to the
-- last day anything was received, the rejections by reason, and the value
-- class the models observe with its interval. Always all traffic and that
-- week: the filter does not apply.
--
-- kind: function
-- reads: tracking_health, event_value
CREATE OR REPLACE FUNCTION models.dashboard_dictionary(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (event_name text, funnel_stage text, up_to date, events bigint, rejected bigint,
               reasons jsonb, observed_class text, uplift numeric, uplift_low numeric,
               uplift_high numeric)
LANGUAGE sql STABLE AS $$
WITH last AS (
    SELECT max(day) AS day FROM models.tracking_health
), week AS (
    SELECT t.event_name, sum(t.events)::bigint AS events, sum(t.rejected)::bigint AS rejected
    FROM models.tracking_health t, last
    WHERE t.day > last.day - 7
    GROUP BY 1
), reasons AS (
    SELECT event_name, jsonb_object_agg(reason, n) AS reasons
    FROM (SELECT t.event_name, r.key AS reason, sum(r.value::bigint) AS n
          FROM models.tracking_health t
          CROSS JOIN last
          CROSS JOIN LATERAL jsonb_each_text(t.rejection_reasons) r
          WHERE t.day > last.day - 7
          GROUP BY 1, 2) per_reason
    GROUP BY 1
)
SELECT c.event_name, c.funnel_stage, (SELECT day FROM last), coalesce(w.events, 0),
       coalesce(w.rejected, 0), coalesce(r.reasons, '{}'), v.value_class, v.uplift,
       v.uplift_low, v.uplift_high
FROM models.contract_latest c
LEFT JOIN week w USING (event_name)
LEFT JOIN reasons r USING (event_name)
LEFT JOIN models.event_value v USING (event_name)
ORDER BY c.event_name
$$;
