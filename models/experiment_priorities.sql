-- The candidate experiments (models.experiment_candidates) scored two ways
-- (docs/analytics.md#experiment-priorities). The plain ICE score is the
-- expected lift times confidence times ease. The value score weighs it by
-- what the lift is worth: the target's occurrences per week (those of the
-- 28 days up to the horizon, over 4) times the lift times the value of one
-- occurrence, times confidence and ease. The value of an occurrence is the
-- target's uplift in 90-day gross profit (models.event_value) when it is
-- credible (its 95% interval above zero, with enough persons a side), else
-- its expected revenue per occurrence; value_source says which. Each
-- score's rank, 1 the highest; a target never seen has no value, no value
-- score, and ranks last by value.
--
-- grain: one row per candidate experiment
-- kind: table
-- index: unique (name)
-- reads: event_value, horizon, occurrences
WITH weekly AS (
    SELECT o.event_name, round(count(*)::numeric / 4, 2) AS per_week
    FROM models.occurrences o CROSS JOIN models.horizon h
    WHERE o.occurred_at > h.horizon - interval '28 days'
    GROUP BY o.event_name
), valued AS (
    SELECT c.name, c.target_event, c.expected_lift, c.confidence, c.ease,
           coalesce(w.per_week, 0) AS occurrences_per_week, v.value_class,
           CASE WHEN credible THEN v.uplift
                ELSE v.expected_revenue_per_occurrence END AS value_per_occurrence,
           CASE WHEN credible THEN 'uplift_90d_gross_profit'
                WHEN v.expected_revenue_per_occurrence IS NOT NULL
                    THEN 'expected_revenue_per_occurrence' END AS value_source
    FROM models.experiment_candidates c
    LEFT JOIN weekly w ON w.event_name = c.target_event
    LEFT JOIN models.event_value v ON v.event_name = c.target_event
    CROSS JOIN LATERAL (SELECT coalesce(v.value_class <> 'unclassified' AND v.uplift_low > 0, false)
                            AS credible) judged
), scored AS (
    SELECT valued.*,
           occurrences_per_week * expected_lift * value_per_occurrence AS value_per_week,
           expected_lift * confidence * ease AS ice_score,
           occurrences_per_week * expected_lift * value_per_occurrence * confidence * ease
               AS value_score
    FROM valued
)
SELECT s.*,
       rank() OVER (ORDER BY s.ice_score DESC) AS ice_rank,
       rank() OVER (ORDER BY s.value_score DESC NULLS LAST) AS value_rank
FROM scored s
