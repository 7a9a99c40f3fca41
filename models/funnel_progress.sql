-- The steps of each funnel (models.funnel_steps) each person reached, in
-- order: a step counts when it happens at or after the previous one.
--
-- grain: one row per funnel, person and step reached
-- kind: table
-- index: unique (funnel, person_id, step)
-- reads: person_events
WITH RECURSIVE reached AS (
    SELECT s.funnel, s.step, pe.person_id, min(pe.occurred_at) AS reached_at
    FROM models.funnel_steps s
    JOIN models.person_events pe ON pe.event_name = s.event_name
    WHERE s.step = 1
    GROUP BY s.funnel, s.step, pe.person_id
    UNION ALL
    SELECT r.funnel, s.step, r.person_id, next_event.at
    FROM reached r
    JOIN models.funnel_steps s ON s.funnel = r.funnel AND s.step = r.step + 1
    CROSS JOIN LATERAL (SELECT min(pe.occurred_at) AS at FROM models.person_events pe
                        WHERE pe.person_id = r.person_id AND pe.event_name = s.event_name
                          AND pe.occurred_at >= r.reached_at) next_event
    WHERE next_event.at IS NOT NULL
)
SELECT funnel, step, person_id, reached_at FROM reached
