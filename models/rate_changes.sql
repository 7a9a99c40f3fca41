-- Each micro-conversion's daily rates against the mean of the 7 days
-- before: the share of sessions with it and its occurrences per session,
-- as they are and adjusted for the traffic mix (the day's sessions in each
-- segment seen in the 7 days before, at that segment's own rate then: a
-- flood of new or different traffic changes the mix, not the adjusted
-- rate). The rate rule (docs/alerts.md): a complete day whose adjusted
-- share or occurrences per session fell by the event's rate_drop or more,
-- beyond chance (its count more than 1.96 standard deviations below the
-- expected: share_z, per_session_z), with at least min_sessions sessions
-- compared that day and on average the 7 days before.
--
-- grain: one row per micro-conversion and day with 7 days of sessions before it
-- kind: table
-- index: unique (event_name, day)
-- reads: micro_rates
WITH daily AS (
    SELECT event_name, funnel_stage, day, sum(sessions) AS sessions,
           sum(sessions_with) AS sessions_with, sum(occurrences) AS occurrences
    FROM models.micro_rates
    GROUP BY 1, 2, 3
), windowed AS (
    SELECT daily.*, count(*) OVER w AS days_before, avg(sessions) OVER w AS baseline_sessions,
           avg(sessions_with::numeric / sessions) OVER w AS baseline_share,
           avg(occurrences::numeric / sessions) OVER w AS baseline_per_session
    FROM daily
    WINDOW w AS (PARTITION BY event_name ORDER BY day
                 RANGE BETWEEN '7 days' PRECEDING AND '1 day' PRECEDING)
), compared AS (
    -- The day's counts in the segments seen before, and what each
    -- segment's own rate of the 7 days before would have given.
    SELECT t.event_name, t.day, sum(t.sessions) AS sessions, sum(t.sessions_with) AS sessions_with,
           sum(t.occurrences) AS occurrences, sum(t.sessions * b.share) AS expected_with,
           sum(t.sessions * b.per_session) AS expected_occurrences
    FROM models.micro_rates t
    CROSS JOIN LATERAL (
        SELECT sum(p.sessions_with)::numeric / sum(p.sessions) AS share,
               sum(p.occurrences)::numeric / sum(p.sessions) AS per_session
        FROM models.micro_rates p
        WHERE p.event_name = t.event_name AND p.channel = t.channel
          AND p.device_type = t.device_type AND p.day BETWEEN t.day - 7 AND t.day - 1
        HAVING sum(p.sessions) > 0) b
    GROUP BY 1, 2
), thresholds AS (
    SELECT d.event_name, coalesce(a.rate_drop, s.alert_rate_drop) AS rate_drop,
           coalesce(a.min_sessions, s.alert_min_sessions) AS min_sessions
    FROM (SELECT DISTINCT event_name FROM daily) d
    CROSS JOIN models.settings s
    LEFT JOIN models.alert_thresholds a USING (event_name)
), changes AS (
    SELECT t.event_name, t.funnel_stage, t.day,
           t.day = (SELECT max(day) FROM daily) AS partial_day,
           t.sessions, t.sessions_with, t.occurrences,
           t.sessions_with::numeric / t.sessions AS share,
           t.occurrences::numeric / t.sessions AS per_session,
           t.baseline_sessions, t.baseline_share, t.baseline_per_session,
           t.sessions_with::numeric / t.sessions / nullif(t.baseline_share, 0) - 1 AS share_change,
           t.occurrences::numeric / t.sessions / nullif(t.baseline_per_session, 0) - 1
               AS per_session_change,
           coalesce(c.sessions, 0) AS compared_sessions,
           c.sessions_with / nullif(c.expected_with, 0) - 1 AS adjusted_share_change,
           c.occurrences / nullif(c.expected_occurrences, 0) - 1 AS adjusted_per_session_change,
           -- binomial for sessions with it, Poisson for occurrences
           (c.sessions_with - c.expected_with)
               / nullif(sqrt(c.expected_with * (1 - c.expected_with / c.sessions)), 0) AS share_z,
           (c.occurrences - c.expected_occurrences) / nullif(sqrt(c.expected_occurrences), 0)
               AS per_session_z,
           h.rate_drop, h.min_sessions
    FROM windowed t
    JOIN thresholds h USING (event_name)
    LEFT JOIN compared c USING (event_name, day)
    WHERE t.days_before = 7
)
SELECT changes.*,
       coalesce(NOT partial_day AND compared_sessions >= min_sessions
                    AND baseline_sessions >= min_sessions
                    AND (adjusted_share_change <= -rate_drop AND share_z <= -1.96
                         OR adjusted_per_session_change <= -rate_drop AND per_session_z <= -1.96),
                false) AS alert
FROM changes
