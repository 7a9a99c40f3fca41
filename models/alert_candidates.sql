-- What is wrong on the latest complete day (the day before the latest day
-- anything was received): one row per problem, with its likely cause and
-- the figures behind it. After every refresh, funnelhouse_alerts_sync()
-- (migration 0011) raises, keeps or resolves alerts from these rows.
--
-- An event: the rules that fire for it (alert_events). An event whose fall
-- another event's rate drop explains (alert_events) is listed under the
-- downstream of the event that explains the whole chain instead of raising
-- its own. A stage: none of its events in 7 days (stage_coverage). All
-- traffic: no event stored for settings.alert_silence before now.
--
-- grain: one row per alerting event or stage
-- kind: table
-- reads: alert_events, tracking_health, rate_changes, rate_segments, traffic_mix, stage_coverage, event_days, rejection_days
WITH RECURSIVE evaluated AS (
    SELECT max(day) - 1 AS day FROM models.tracking_health
), health AS (
    SELECT h.* FROM models.tracking_health h JOIN evaluated USING (day)
), rates AS (
    SELECT r.*, models.stage_rank(r.funnel_stage) AS stage_rank
    FROM models.rate_changes r JOIN evaluated USING (day)
), traffic AS (
    SELECT max(sessions / nullif(baseline_sessions, 0) - 1) AS change FROM rates
), events_fired AS (
    SELECT event_name, rules, stage_rank, fall FROM models.alert_events
), explained AS (
    SELECT event_name, by_event FROM models.alert_events WHERE by_event IS NOT NULL
), up (event_name, root, depth) AS (
    -- followed to the one that explains them all (alert_events explains
    -- an event only by one typically earlier in a session: no cycle)
    SELECT event_name, by_event, 1 FROM explained
    UNION ALL
    SELECT u.event_name, x.by_event, u.depth + 1
    FROM up u JOIN explained x ON x.event_name = u.root
    WHERE u.depth < 50
), roots AS (
    SELECT DISTINCT ON (u.event_name) u.event_name, u.root, f.rules
    FROM up u JOIN events_fired f USING (event_name)
    ORDER BY u.event_name, u.depth DESC
), judged AS (
    SELECT f.event_name, f.rules, f.stage_rank, e.day, since.day AS since, r.rate_drop,
           'rate_drop' = ANY (f.rules) AS rate_fell,
           'rejection_rate' = ANY (f.rules) AS rejecting,
           to_jsonb(r) - 'event_name' - 'day' - 'stage_rank' AS rate,
           h.events, h.trailing_7d_mean, h.rejected, h.rejection_rate, h.rejection_reasons,
           h.schema_versions, versions.new AS new_versions
    FROM events_fired f
    CROSS JOIN evaluated e
    CROSS JOIN models.settings st
    LEFT JOIN rates r USING (event_name)
    LEFT JOIN health h USING (event_name)
    -- since when: the first day of the run of days each rule that fires now fired on
    CROSS JOIN LATERAL (
        SELECT least(
            CASE WHEN 'rate_drop' = ANY (f.rules) THEN (
                SELECT coalesce(max(q.day) FILTER (WHERE NOT q.alert) + 1, min(q.day))
                FROM models.rate_changes q WHERE q.event_name = f.event_name AND q.day <= e.day) END,
            CASE WHEN 'rejection_rate' = ANY (f.rules) THEN (
                SELECT coalesce(max(q.day) FILTER (
                           WHERE NOT coalesce(q.rejection_rate > st.alert_rejection_rate, false)) + 1,
                       min(q.day))
                FROM models.tracking_health q WHERE q.event_name = f.event_name AND q.day <= e.day) END,
            CASE WHEN 'volume_drop' = ANY (f.rules) THEN (
                SELECT coalesce(max(q.day) FILTER (
                           WHERE NOT coalesce(q.events < (1 - st.alert_volume_drop) * q.trailing_7d_mean,
                                              false)) + 1,
                       min(q.day))
                FROM models.tracking_health q WHERE q.event_name = f.event_name AND q.day <= e.day) END,
            e.day) AS day) since
    -- contract versions of the events that happened since then, not seen
    -- in the 7 days before (none are new when nothing came before)
    CROSS JOIN LATERAL (
        SELECT array_agg(DISTINCT x.schema_version ORDER BY x.schema_version) AS new
        FROM models.event_days x
        WHERE x.event_name = f.event_name
          AND EXISTS (SELECT 1 FROM models.event_days p
                      WHERE p.event_name = f.event_name
                        AND p.day >= since.day - 7 AND p.day < since.day)
          AND x.day >= since.day AND x.day <= e.day
          AND NOT EXISTS (SELECT 1 FROM models.event_days p
                          WHERE p.event_name = f.event_name AND p.schema_version = x.schema_version
                            AND p.day >= since.day - 7 AND p.day < since.day)) versions
    WHERE f.event_name NOT IN (SELECT event_name FROM explained)
), described AS (
    SELECT j.*, seg.dimension, seg.segment, seg.share AS segment_share,
           seg.before_share AS segment_before_share, seg.rest_change, up.funnel_stage AS upstream_stage,
           up.upstream_event, up.worst AS upstream_worst, up.events AS upstream_events,
           rp.paths AS rejected_paths, rp.top_path, rp.rejected AS day_rejected,
           rp.rejected::numeric / nullif(rp.rejected + st.stored, 0) AS day_rejected_share,
           rp.before_rejected::numeric / nullif(rp.before_rejected + st.before_stored, 0)
               AS before_rejected_share
    FROM judged j
    -- a segment that fell while the rest of the traffic held
    LEFT JOIN LATERAL (
        SELECT s.dimension, s.segment, s.share, s.before_share, s.rest_change
        FROM models.rate_segments s
        WHERE s.event_name = j.event_name AND s.day = j.day AND s.change <= -j.rate_drop
          AND s.rest_sessions > 0 AND s.rest_change > -j.rate_drop / 2
        ORDER BY (s.before_share - s.share) * s.sessions DESC, s.dimension, s.segment
        LIMIT 1) seg ON j.rate_fell
    -- the nearest earlier stage's most common micro-conversion: did the
    -- drop start there?
    LEFT JOIN LATERAL (
        SELECT u.funnel_stage, u.event_name AS upstream_event,
               least(u.adjusted_share_change, u.adjusted_per_session_change) AS worst,
               (SELECT jsonb_agg(jsonb_build_object(
                           'event_name', w.event_name, 'share_change', round(w.share_change, 4),
                           'adjusted_share_change', round(w.adjusted_share_change, 4))
                       ORDER BY w.event_name)
                FROM rates w WHERE w.stage_rank = u.stage_rank) AS events
        FROM rates u
        WHERE u.stage_rank = (SELECT max(x.stage_rank) FROM rates x WHERE x.stage_rank < j.stage_rank)
        ORDER BY u.baseline_share DESC, u.event_name
        LIMIT 1) up ON true
    -- the copies of the event that happened that day and were rejected,
    -- where they failed, and the share rejected then and the 7 days before
    LEFT JOIN LATERAL (
        SELECT coalesce(sum(t.n) FILTER (WHERE t.day = j.day), 0) AS rejected,
               coalesce(sum(t.n) FILTER (WHERE t.day < j.day), 0) AS before_rejected,
               jsonb_agg(jsonb_build_object('path', t.path, 'rejected', t.n) ORDER BY t.n DESC, t.path)
                   FILTER (WHERE t.day = j.day) AS paths,
               (array_agg(t.path ORDER BY t.n DESC, t.path) FILTER (WHERE t.day = j.day))[1] AS top_path
        FROM (SELECT r.day, r.path, sum(r.rejected)::bigint AS n
              FROM models.rejection_days r
              WHERE r.event_name = j.event_name AND r.received_day >= j.day - 8
              GROUP BY 1, 2) t
        WHERE t.day BETWEEN j.day - 7 AND j.day) rp ON true
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(x.events) FILTER (WHERE x.day >= j.day), 0)::bigint AS stored,
               coalesce(sum(x.events) FILTER (WHERE x.day < j.day), 0)::bigint AS before_stored
        FROM models.event_days x
        WHERE x.event_name = j.event_name AND x.day >= j.day - 7 AND x.day <= j.day) st
), rejecting AS (
    -- rejections explain it when its own rule fires, or when more than
    -- alert_rejection_rate of the day's copies were rejected, twice the
    -- share of the 7 days before
    SELECT d.*,
           d.rejecting OR coalesce(d.day_rejected_share > (SELECT alert_rejection_rate
                                                         FROM models.settings)
                                   AND d.day_rejected_share > 2 * d.before_rejected_share, false)
               AS rejects_more
    FROM described d
), caused AS (
    SELECT d.*,
           CASE
               WHEN d.rejects_more AND d.new_versions IS NOT NULL THEN 'contract_change'
               WHEN d.rejects_more THEN 'rejections'
               WHEN d.segment IS NOT NULL THEN 'segment'
               WHEN d.rate_fell AND d.upstream_worst <= -d.rate_drop THEN 'upstream'
               WHEN d.rate_fell AND d.new_versions IS NOT NULL THEN 'contract_change'
               WHEN NOT d.rate_fell AND (SELECT change FROM traffic)
                                        <= -(SELECT alert_volume_drop FROM models.settings) / 2
                   THEN 'traffic'
               ELSE 'unknown'
           END AS cause
    FROM rejecting d
)
SELECT 'event' AS subject_type, c.event_name AS subject, c.rules, c.day, c.since, c.cause,
       CASE c.cause
           WHEN 'contract_change' THEN
               format('contract version %s first seen since %s%s',
                      array_to_string(c.new_versions, ', '), c.since,
                      CASE WHEN c.rejects_more
                           THEN format('; %s of that day''s copies rejected, most at %s',
                                       models.percent(c.day_rejected_share),
                                       coalesce(nullif(c.top_path, ''), 'the message'))
                           ELSE '' END)
           WHEN 'rejections' THEN
               format('%s of that day''s copies rejected (%s the 7 days before), most at %s',
                      models.percent(c.day_rejected_share), models.percent(c.before_rejected_share),
                      coalesce(nullif(c.top_path, ''), 'the message'))
           WHEN 'segment' THEN
               format('only %s %s: %s of its sessions against %s the 7 days before; the rest %s',
                      replace(c.dimension, '_', ' '), c.segment, models.percent(c.segment_share),
                      models.percent(c.segment_before_share), models.percent(c.rest_change, true))
           WHEN 'upstream' THEN
               format('the drop starts earlier in the funnel: %s (%s) %s', c.upstream_stage,
                      c.upstream_event, models.percent(c.upstream_worst, true))
           WHEN 'traffic' THEN
               format('fewer sessions (%s against the 7 days before) while its rate held',
                      models.percent((SELECT change FROM traffic), true))
           ELSE 'no single segment, earlier stage, rejection or new contract version explains it'
       END AS likely_cause,
       c.event_name || ' on ' || c.day
           || CASE WHEN c.since < c.day THEN ' (since ' || c.since || ')' ELSE '' END
           || ': ' || concat_ws('; ',
           CASE WHEN c.rate_fell THEN
               format('share of sessions with it %s (%s against %s), %s adjusted for the traffic mix',
                      models.percent((c.rate ->> 'share_change')::numeric, true),
                      models.percent((c.rate ->> 'share')::numeric),
                      models.percent((c.rate ->> 'baseline_share')::numeric),
                      models.percent((c.rate ->> 'adjusted_share_change')::numeric, true)) END,
           CASE WHEN 'volume_drop' = ANY (c.rules) THEN
               format('%s events against a 7-day mean of %s', c.events, round(c.trailing_7d_mean, 1))
           END,
           CASE WHEN c.rejecting THEN format('%s of its events rejected', models.percent(c.rejection_rate))
           END) AS summary,
       jsonb_build_object(
           'since', c.since,
           'rules', c.rules,
           'segment', CASE WHEN c.cause = 'segment' THEN
                          jsonb_build_object('dimension', c.dimension, 'segment', c.segment,
                                             'share', round(c.segment_share, 4),
                                             'before_share', round(c.segment_before_share, 4),
                                             'rest_change', round(c.rest_change, 4)) END,
           'rate', c.rate,
           'volume', jsonb_build_object('events', c.events, 'trailing_7d_mean', round(c.trailing_7d_mean, 2)),
           'rejections', jsonb_build_object('received_rejected', c.rejected,
                                            'received_rejection_rate', round(c.rejection_rate, 4),
                                            'received_reasons', c.rejection_reasons,
                                            'day_rejected', c.day_rejected,
                                            'day_rejected_share', round(c.day_rejected_share, 4),
                                            'before_rejected_share', round(c.before_rejected_share, 4),
                                            'paths', c.rejected_paths),
           'schema_versions', jsonb_build_object('seen', c.schema_versions, 'new', c.new_versions),
           'upstream', jsonb_build_object('stage', c.upstream_stage, 'event_name', c.upstream_event,
                                          'change', round(c.upstream_worst, 4),
                                          'events', c.upstream_events),
           'traffic_change', (SELECT round(change, 4) FROM traffic),
           'mix', (SELECT jsonb_agg(jsonb_build_object('dimension', m.dimension, 'segment', m.segment,
                                                       'share', round(m.share, 4),
                                                       'before_share', round(m.before_share, 4),
                                                       'share_change', round(m.share_change, 4))
                                    ORDER BY abs(m.share_change) DESC NULLS LAST, m.dimension, m.segment)
                   FROM (SELECT * FROM models.traffic_mix m WHERE m.day = c.day
                         ORDER BY abs(m.share_change) DESC NULLS LAST, m.dimension, m.segment
                         LIMIT 6) m),
           'segments', (SELECT jsonb_agg(jsonb_build_object('dimension', s.dimension, 'segment', s.segment,
                                                            'sessions', s.sessions, 'share', round(s.share, 4),
                                                            'before_share', round(s.before_share, 4),
                                                            'change', round(s.change, 4),
                                                            'rest_change', round(s.rest_change, 4))
                                         ORDER BY s.change NULLS LAST, s.dimension, s.segment)
                        FROM (SELECT * FROM models.rate_segments s
                              WHERE s.event_name = c.event_name AND s.day = c.day
                              ORDER BY s.change NULLS LAST, s.dimension, s.segment
                              LIMIT 3) s),
           'downstream', (SELECT jsonb_agg(jsonb_build_object('event_name', x.event_name, 'rules', x.rules)
                                           ORDER BY x.event_name)
                          FROM roots x WHERE x.root = c.event_name)) AS context
FROM caused c
UNION ALL
SELECT 'stage', s.funnel_stage, ARRAY['stage_silent'], e.day, e.day, 'no_events',
       format('none of its micro-conversions (%s) was received in the 7 days up to %s',
              array_to_string(s.micro_conversions, ', '), s.up_to),
       format('funnel stage %s: no event in the 7 days up to %s', s.funnel_stage, s.up_to),
       jsonb_build_object('micro_conversions', s.micro_conversions, 'up_to', s.up_to)
FROM models.stage_coverage s CROSS JOIN evaluated e
WHERE s.alert
UNION ALL
-- Nothing stored for settings.alert_silence, by the clock: tracking broke
-- everywhere (or the server is down).
SELECT 'traffic', 'all events', ARRAY['silence'], e.day, (l.at AT TIME ZONE 'UTC')::date,
       'no_events', format('no event stored since %s', to_char(l.at AT TIME ZONE 'UTC',
                                                            'YYYY-MM-DD HH24:MI "UTC"')),
       format('all events: nothing stored for %s (alert_silence %s)',
              date_trunc('minute', now() - l.at), (SELECT alert_silence FROM models.settings)),
       jsonb_build_object('last_stored', l.at)
FROM (SELECT max(last_received_at) AS at FROM models.event_days) l CROSS JOIN evaluated e
WHERE l.at < now() - (SELECT alert_silence FROM models.settings)
