-- Micro-conversions (every counted event but orders and refunds) each person
-- did in the first 7 days after first_seen.
--
-- grain: one row per person and event name
-- kind: table
-- reads: person_events, person_firsts
-- The same counts as models.occurrences restricted to the window: a session
-- (or person) whose first occurrence is in the window has one there, and
-- one that has an occurrence there has its first there too.
WITH per_session AS (
    SELECT pe.person_id, pe.event_name, coalesce(c.frequency, 'every_time') AS frequency,
           count(*) AS events, min(pe.occurred_at) AS first_at
    FROM models.person_events pe
    JOIN models.person_firsts p USING (person_id)
    LEFT JOIN models.contract_latest c USING (event_name)
    WHERE pe.event_type IN ('track', 'page', 'screen')
      AND pe.occurred_at < p.first_seen + interval '7 days'
      AND pe.event_name NOT IN ('order_completed', 'refund_issued')
    GROUP BY pe.person_id, pe.event_name, coalesce(c.frequency, 'every_time'), pe.session_number
)
SELECT person_id, event_name,
       CASE frequency WHEN 'every_time' THEN sum(events) WHEN 'once_per_session' THEN count(*) ELSE 1 END
           ::bigint AS occurrences,
       min(first_at) AS first_at
FROM per_session
GROUP BY person_id, event_name, frequency
