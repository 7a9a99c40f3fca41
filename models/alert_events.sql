-- The events that alert on the latest complete day (the day before the
-- latest day anything was received), the rules that fire for each, and
-- the event whose rate drop explains its fall, if one does: that event
-- typically comes earlier in a session, came before it in most of its
-- sessions of the 7 days before, and fell at least half as much, and the
-- event's own copies are not being rejected. alert_candidates follows
-- these explanations to the event that explains a whole chain.
--
-- An event's rules: rate_drop (rate_changes), volume_drop (tracking_health,
-- for events with a 7-day mean of at least settings.alert_min_events) and
-- rejection_rate (tracking_health).
--
-- grain: one row per alerting event
-- kind: table
-- reads: tracking_health, rate_changes, person_events, sessions
WITH evaluated AS (
    SELECT max(day) - 1 AS day FROM models.tracking_health
), health AS (
    SELECT h.* FROM models.tracking_health h JOIN evaluated USING (day)
), rates AS (
    SELECT r.*, models.stage_rank(r.funnel_stage) AS stage_rank
    FROM models.rate_changes r JOIN evaluated USING (day)
), fired AS (
    SELECT event_name, 'rate_drop' AS rule FROM rates WHERE alert
    UNION ALL
    SELECT event_name, 'volume_drop' FROM health
    WHERE trailing_7d_mean >= (SELECT alert_min_events FROM models.settings)
      AND events < (1 - (SELECT alert_volume_drop FROM models.settings)) * trailing_7d_mean
    UNION ALL
    SELECT event_name, 'rejection_rate' FROM health
    WHERE rejection_rate > (SELECT alert_rejection_rate FROM models.settings)
), events_fired AS (
    SELECT f.event_name, array_agg(DISTINCT f.rule ORDER BY f.rule) AS rules,
           models.stage_rank(min(c.funnel_stage)) AS stage_rank,
           -least(min(r.adjusted_share_change), min(r.adjusted_per_session_change)) AS fall
    FROM fired f
    LEFT JOIN models.contract_latest c USING (event_name)
    LEFT JOIN rates r USING (event_name)
    GROUP BY f.event_name
), firsts AS (
    -- each alerting event's first time in each session of the 7 days before
    SELECT pe.person_id, pe.session_number, pe.event_name, min(pe.occurred_at) AS first_at
    FROM models.person_events pe, evaluated e
    WHERE pe.event_name IN (SELECT event_name FROM events_fired)
      AND pe.occurred_at >= (e.day - 7)::timestamp AT TIME ZONE 'UTC'
      AND pe.occurred_at < e.day::timestamp AT TIME ZONE 'UTC'
    GROUP BY 1, 2, 3
), typical AS (
    -- where in its sessions each comes: the median time from their start
    SELECT f.event_name,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.first_at - s.started_at))
               AS seconds_in
    FROM firsts f
    JOIN models.sessions s ON s.person_id = f.person_id AND s.session_number = f.session_number
    GROUP BY 1
), pairs AS (
    -- b may be a consequence of a: a's rate fell at least half as much, a
    -- typically comes earlier in a session, and b's own events are not
    -- being rejected
    SELECT a.event_name AS a, b.event_name AS b
    FROM events_fired a
    JOIN events_fired b
      ON a.event_name <> b.event_name AND 'rate_drop' = ANY (a.rules)
     AND NOT 'rejection_rate' = ANY (b.rules) AND (b.fall IS NULL OR a.fall >= 0.5 * b.fall)
    JOIN typical ta ON ta.event_name = a.event_name
    JOIN typical tb ON tb.event_name = b.event_name AND ta.seconds_in < tb.seconds_in
), ordered AS (
    -- how often a came before b in b's sessions of the 7 days before
    SELECT p.a, p.b, count(*) AS sessions,
           count(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM firsts x
               WHERE x.person_id = y.person_id AND x.session_number = y.session_number
                 AND x.event_name = p.a AND x.first_at < y.first_at)) AS a_before
    FROM pairs p
    JOIN firsts y ON y.event_name = p.b
    GROUP BY 1, 2
), explained AS (
    -- each consequence under the event that came before it most often
    SELECT DISTINCT ON (o.b) o.b AS event_name, o.a AS by_event
    FROM ordered o
    WHERE o.a_before * 2 > o.sessions
    ORDER BY o.b, o.a_before::numeric / o.sessions DESC, o.a
)
SELECT f.event_name, f.rules, f.stage_rank, f.fall, x.by_event
FROM events_fired f
LEFT JOIN explained x USING (event_name)
