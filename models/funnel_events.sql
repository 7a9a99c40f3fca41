-- The events of each person that are steps of a funnel (models.funnel_steps),
-- with the step they are: what funnel_progress walks through. A table of
-- its own so that the walk, a recursive query, reads a table on the
-- coordinator on Citus (which does not run recursive queries over
-- distributed tables).
--
-- grain: one row per funnel step and event of a person that is that step
-- kind: table
-- index: (funnel, person_id, step, occurred_at)
-- reads: person_events
SELECT s.funnel, s.step, pe.person_id, pe.occurred_at
FROM models.funnel_steps s
JOIN models.person_events pe ON pe.event_name = s.event_name
