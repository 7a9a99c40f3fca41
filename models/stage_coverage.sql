-- The weekly check of the funnel: for each stage the contracts declare,
-- its micro-conversions and how many of their events were received in the
-- 7 days up to the latest day anything was received. A stage with none is
-- an alert (alert_candidates): every stage needs at least one
-- micro-conversion that is tracked.
--
-- grain: one row per funnel stage
-- kind: table
-- index: unique (funnel_stage)
-- reads: tracking_health
WITH stages AS (
    SELECT funnel_stage, array_agg(event_name ORDER BY event_name) AS micro_conversions
    FROM models.contract_latest
    WHERE funnel_stage IS NOT NULL
    GROUP BY 1
), recent AS (
    SELECT event_name, sum(events) AS events
    FROM models.tracking_health
    WHERE day > (SELECT max(day) FROM models.tracking_health) - 7 AND events > 0
    GROUP BY 1
)
SELECT s.funnel_stage,
       models.stage_rank(s.funnel_stage) AS stage_rank,
       s.micro_conversions,
       coalesce(array_agg(r.event_name ORDER BY r.event_name) FILTER (WHERE r.event_name IS NOT NULL),
                '{}') AS seen_7d,
       coalesce(sum(r.events), 0) AS events_7d,
       (SELECT max(day) FROM models.tracking_health) AS up_to,
       coalesce(sum(r.events), 0) = 0
           AND (SELECT max(day) FROM models.tracking_health) IS NOT NULL AS alert
FROM stages s
LEFT JOIN recent r ON r.event_name = ANY (s.micro_conversions)
GROUP BY s.funnel_stage, s.micro_conversions
