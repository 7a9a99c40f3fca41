-- The steps of each funnel (models.funnel_steps) each person reached, in
-- order: a step counts when it happens at or after the previous one.
--
-- grain: one row per funnel, person and step reached
-- kind: table
-- index: unique (funnel, person_id, step)
-- reads: funnel_events
WITH RECURSIVE reached AS (
    SELECT funnel, step, person_id, min(occurred_at) AS reached_at
    FROM models.funnel_events
    WHERE step = 1
    GROUP BY funnel, step, person_id
    UNION ALL
    SELECT r.funnel, r.step + 1, r.person_id, next_event.at
    FROM reached r
    CROSS JOIN LATERAL (SELECT min(fe.occurred_at) AS at FROM models.funnel_events fe
                        WHERE fe.funnel = r.funnel AND fe.person_id = r.person_id
                          AND fe.step = r.step + 1 AND fe.occurred_at >= r.reached_at) next_event
    WHERE next_event.at IS NOT NULL
)
SELECT funnel, step, person_id, reached_at FROM reached
