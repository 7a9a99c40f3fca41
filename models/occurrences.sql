-- Occurrences of track, page and screen events as counted: the contract's
-- frequency keeps the first per session (once_per_session) or per person
-- (once_per_user); events without a contract count every time. A view: the
-- models that count occurrences read it during their refresh.
--
-- grain: one row per counted occurrence
-- kind: view
-- reads: person_events
WITH counted AS (
    SELECT pe.event_id, pe.person_id, pe.event_name, pe.occurred_at, pe.session_number,
           coalesce(c.frequency, 'every_time') AS frequency
    FROM models.person_events pe
    LEFT JOIN models.contract_latest c USING (event_name)
    WHERE pe.event_type IN ('track', 'page', 'screen')
)
SELECT event_id, person_id, event_name, occurred_at, session_number, frequency
FROM counted WHERE frequency = 'every_time'
UNION ALL
SELECT * FROM (
    SELECT DISTINCT ON (person_id, event_name, session_number)
           event_id, person_id, event_name, occurred_at, session_number, frequency
    FROM counted WHERE frequency = 'once_per_session'
    ORDER BY person_id, event_name, session_number, occurred_at, event_id) first_in_session
UNION ALL
SELECT * FROM (
    SELECT DISTINCT ON (person_id, event_name)
           event_id, person_id, event_name, occurred_at, session_number, frequency
    FROM counted WHERE frequency = 'once_per_user'
    ORDER BY person_id, event_name, occurred_at, event_id) first_for_person
