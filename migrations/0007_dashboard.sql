-- What the dashboard (and any other tool) reads: functions over the models
-- that follow a date range and a segment. docs/dashboard.md describes each
-- one; docs/analytics.md defines the numbers.
--
-- Every function takes the same four arguments:
--   p_from, p_to   UTC days, inclusive; NULL for no bound
--   p_dimension    'all', 'channel' or 'device_type' (both first touch)
--   p_segment      the channel or device type when p_dimension is not 'all'
-- Panels about persons select persons first seen in the range; experiments
-- select exposures in it; tracking selects days of receipt in it.
--
-- Three more models hold the per-person rows these need, so that a filter
-- only sums precomputed rows. Two of them are what event_value and
-- experiment_guardrails computed inside their own queries: they come before
-- those models now, which read them instead.

-- Room between the positions: 1, 2, ... become 10, 20, ...
UPDATE models.definitions SET position = -position;
UPDATE models.definitions SET position = -position * 10;

-- Per person and micro-conversion: occurrences whose 30 days are complete,
-- and how many of them an order of the person followed within 30 days
-- (event_value's expected revenue per occurrence, per person). Only buyers'
-- occurrences are looked up in orders.
INSERT INTO models.definitions VALUES (105, 'occurrence_outcomes', 'table', $q$
SELECT o.person_id, o.event_name,
       count(*) FILTER (WHERE o.occurred_at + interval '30 days' <= h.horizon) AS occurrences_complete_30d,
       count(*) FILTER (WHERE o.occurred_at + interval '30 days' <= h.horizon
                          AND buyer.person_id IS NOT NULL AND EXISTS (
           SELECT 1 FROM @models.orders od
           WHERE od.person_id = o.person_id AND od.occurred_at >= o.occurred_at
             AND od.occurred_at < o.occurred_at + interval '30 days')) AS followed_by_order
FROM @models.occurrences o
LEFT JOIN (SELECT DISTINCT person_id FROM @models.orders) buyer USING (person_id)
CROSS JOIN @models.horizon h
WHERE o.event_name NOT IN ('order_completed', 'refund_issued')
GROUP BY o.person_id, o.event_name
$q$, ARRAY['CREATE INDEX ON @models.occurrence_outcomes (person_id)']::text[]);

-- Per person and experiment: the first exposure, and the orders, refunds and
-- gross profit in the 60 days after it (experiment_guardrails, per person).
INSERT INTO models.definitions VALUES (145, 'experiment_exposures', 'table', $q$
WITH exposures AS (
    SELECT DISTINCT ON (pe.person_id, e.properties ->> 'experiment_id')
           pe.person_id, e.properties ->> 'experiment_id' AS experiment_id,
           e.properties ->> 'variant' AS variant, e.occurred_at AS exposed_at
    FROM events e
    JOIN @models.person_events pe USING (event_id)
    WHERE e.event_name = 'experiment_viewed'
    ORDER BY pe.person_id, e.properties ->> 'experiment_id', e.occurred_at, e.event_id
)
SELECT x.experiment_id, x.variant, x.person_id, x.exposed_at,
       x.exposed_at + interval '60 days' <= h.horizon AS complete_60d,
       EXISTS (SELECT 1 FROM @models.orders o
               WHERE o.person_id = x.person_id AND o.occurred_at < x.exposed_at) AS bought_before,
       w.orders_30d, w.orders_60d, w.refunded_orders_60d,
       w.profit_60d - coalesce(rf.amount, 0) AS gross_profit_60d
FROM exposures x
CROSS JOIN @models.horizon h
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE o.occurred_at < x.exposed_at + interval '30 days') AS orders_30d,
           count(*) AS orders_60d,
           coalesce(sum(o.gross_profit), 0) AS profit_60d,
           count(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM @models.refunds r
               WHERE r.order_id = o.order_id AND r.occurred_at >= o.occurred_at
                 AND r.occurred_at < x.exposed_at + interval '60 days')) AS refunded_orders_60d
    FROM @models.orders o
    WHERE o.person_id = x.person_id AND o.occurred_at >= x.exposed_at
      AND o.occurred_at < x.exposed_at + interval '60 days') w
CROSS JOIN LATERAL (
    SELECT sum(r.amount) AS amount FROM @models.refunds r
    WHERE r.person_id = x.person_id AND r.occurred_at >= x.exposed_at
      AND r.occurred_at < x.exposed_at + interval '60 days') rf
$q$, ARRAY['CREATE UNIQUE INDEX ON @models.experiment_exposures (experiment_id, person_id)']::text[]);

-- Events per event name, UTC day of receipt and first-touch channel and
-- device type of their person (tracking_health's counts, by segment).
-- Events without a person (kept without consent) are in no segment.
INSERT INTO models.definitions VALUES (190, 'tracking_by_segment', 'table', $q$
SELECT e.event_name, (e.received_at AT TIME ZONE 'UTC')::date AS day, p.channel, p.device_type,
       count(*) AS events,
       count(*) FILTER (WHERE e.sources = 'browser') AS browser_only,
       count(*) FILTER (WHERE e.sources = 'server') AS server_only,
       count(*) FILTER (WHERE e.sources = 'both') AS both_sources,
       array_agg(DISTINCT e.schema_version ORDER BY e.schema_version) AS schema_versions
FROM @models.person_events pe
JOIN events e USING (event_id)
JOIN @models.person_firsts p USING (person_id)
GROUP BY 1, 2, 3, 4
$q$, '{}');

-- event_value sums occurrence_outcomes, experiment_guardrails compares
-- experiment_exposures, and cohort_ltv gains landing-page cohorts (first
-- touch), so that the dashboard's unfiltered panel reads them precomputed.
-- replace_between() swaps the text of a definition from one marker up to
-- another; a definition without both stops the migration.
CREATE FUNCTION pg_temp.replace_between(model text, first text, last text, new text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE models.definitions d
    SET query = substr(d.query, 1, strpos(d.query, first) - 1) || new
                || substr(d.query, strpos(d.query, last))
    WHERE d.model = replace_between.model AND strpos(d.query, first) > 0
      AND strpos(d.query, last) >= strpos(d.query, first);
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: the definition is not the one this migration expects', model;
    END IF;
END;
$$;

SELECT pg_temp.replace_between('event_value', '), names AS (', '), did AS (', $new$), names AS (
    SELECT DISTINCT event_name FROM @models.occurrence_outcomes
$new$);
SELECT pg_temp.replace_between('event_value', '), occurrence_value AS (', '), order_mean AS (', $new$), occurrence_value AS (
    SELECT event_name, sum(occurrences_complete_30d)::bigint AS occurrences_complete_30d,
           sum(followed_by_order) AS followed_by_order
    FROM @models.occurrence_outcomes
    GROUP BY event_name
$new$);
SELECT pg_temp.replace_between('experiment_guardrails', 'WITH exposures AS (', '), variants AS (', $new$WITH per_person AS (
    SELECT experiment_id, variant, person_id, bought_before, orders_30d, orders_60d,
           refunded_orders_60d, gross_profit_60d
    FROM @models.experiment_exposures
    WHERE complete_60d
$new$);
SELECT pg_temp.replace_between('cohort_ltv', $first$    SELECT 'first_seen_month'$first$, $last$    SELECT 'first_seen_month'$last$, $new$    SELECT 'landing_page', landing_page, person_id FROM @models.person_firsts
    UNION ALL
$new$);

DO $$
DECLARE
    item record;
    buffer text;
BEGIN
    FOR item IN SELECT model FROM models.definitions
                WHERE model IN ('occurrence_outcomes', 'experiment_exposures', 'tracking_by_segment')
                ORDER BY position LOOP
        FOREACH buffer IN ARRAY ARRAY['models_a', 'models_b'] LOOP
            PERFORM models.build_model(buffer, item.model, false);
        END LOOP;
        EXECUTE format('CREATE VIEW models.%I AS SELECT * FROM %I.%I',
                       item.model, (SELECT current FROM models.state), item.model);
        EXECUTE format('GRANT SELECT ON models.%I, models_a.%I, models_b.%I TO funnelhouse_analyst',
                       item.model, item.model, item.model);
    END LOOP;
END
$$;

-- serve's dashboard reads as funnelhouse_analyst (SET ROLE): a login of
-- funnelhouse_server may become it. The analyst only reads.
GRANT funnelhouse_analyst TO funnelhouse_server;

-- The persons a filter selects, with their first touch.
CREATE FUNCTION models.dashboard_persons(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (person_id text, first_seen timestamptz, channel text, landing_page text,
               device_type text)
LANGUAGE sql STABLE AS $$
SELECT p.person_id, p.first_seen, p.channel, p.landing_page, p.device_type
FROM models.person_firsts p
WHERE (p_from IS NULL OR p.first_seen >= p_from::timestamp AT TIME ZONE 'UTC')
  AND (p_to IS NULL OR p.first_seen < (p_to + 1)::timestamp AT TIME ZONE 'UTC')
  AND CASE p_dimension WHEN 'all' THEN true
                       WHEN 'channel' THEN p.channel = p_segment
                       WHEN 'device_type' THEN p.device_type = p_segment END
$$;

-- Whether a filter selects everything: then panels read their model as the
-- refresh computed it.
CREATE FUNCTION models.dashboard_unfiltered(p_from date, p_to date, p_dimension text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
SELECT p_from IS NULL AND p_to IS NULL AND p_dimension = 'all'
$$;

-- Whether a UTC day is in the range.
CREATE FUNCTION models.dashboard_in_range(day date, p_from date, p_to date) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
SELECT (p_from IS NULL OR day >= p_from) AND (p_to IS NULL OR day <= p_to)
$$;

-- Events per day and event name in the range: all received (the segment
-- 'all'), or those of the segment's persons. Rejections have no person:
-- under a segment they are NULL.
CREATE FUNCTION models.dashboard_volume(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (day date, event_name text, events bigint, browser_only bigint, server_only bigint,
               both_sources bigint, rejected bigint, schema_versions text[])
LANGUAGE sql STABLE AS $$
WITH selected AS (
    SELECT s.* FROM models.tracking_by_segment s
    WHERE p_dimension <> 'all'
      AND models.dashboard_in_range(s.day, p_from, p_to)
      AND CASE p_dimension WHEN 'channel' THEN s.channel = p_segment
                           WHEN 'device_type' THEN s.device_type = p_segment END
), versions AS (
    SELECT s.event_name, s.day, array_agg(DISTINCT v ORDER BY v) AS schema_versions
    FROM selected s CROSS JOIN LATERAL unnest(s.schema_versions) v
    GROUP BY s.event_name, s.day
), segment AS (
    SELECT s.event_name, s.day, sum(s.events)::bigint AS events,
           sum(s.browser_only)::bigint AS browser_only, sum(s.server_only)::bigint AS server_only,
           sum(s.both_sources)::bigint AS both_sources, versions.schema_versions
    FROM selected s JOIN versions USING (event_name, day)
    GROUP BY s.event_name, s.day, versions.schema_versions
)
SELECT t.day, t.event_name,
       CASE WHEN p_dimension = 'all' THEN t.events ELSE coalesce(s.events, 0) END,
       CASE WHEN p_dimension = 'all' THEN t.browser_only ELSE coalesce(s.browser_only, 0) END,
       CASE WHEN p_dimension = 'all' THEN t.server_only ELSE coalesce(s.server_only, 0) END,
       CASE WHEN p_dimension = 'all' THEN t.both_sources ELSE coalesce(s.both_sources, 0) END,
       CASE WHEN p_dimension = 'all' THEN t.rejected END,
       CASE WHEN p_dimension = 'all' THEN t.schema_versions ELSE coalesce(s.schema_versions, '{}') END
FROM models.tracking_health t
LEFT JOIN segment s USING (event_name, day)
WHERE models.dashboard_in_range(t.day, p_from, p_to)
ORDER BY t.day, t.event_name
$$;

-- Per event name over the range: volume, where it was seen, schema versions
-- in use, and rejections (NULL under a segment).
CREATE FUNCTION models.dashboard_tracking(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (event_name text, events bigint, browser_only bigint, server_only bigint,
               both_sources bigint, rejected bigint, rejection_rate numeric, schema_versions text[])
LANGUAGE sql STABLE AS $$
WITH volume AS (
    SELECT * FROM models.dashboard_volume(p_from, p_to, p_dimension, p_segment)
), versions AS (
    SELECT v.event_name, array_agg(DISTINCT x ORDER BY x) AS schema_versions
    FROM volume v CROSS JOIN LATERAL unnest(v.schema_versions) x
    GROUP BY v.event_name
)
SELECT v.event_name, sum(v.events)::bigint, sum(v.browser_only)::bigint, sum(v.server_only)::bigint,
       sum(v.both_sources)::bigint, sum(v.rejected)::bigint,
       sum(v.rejected)::numeric / nullif(sum(v.events) + sum(v.rejected), 0),
       coalesce(x.schema_versions, '{}')
FROM volume v
LEFT JOIN versions x USING (event_name)
GROUP BY v.event_name, x.schema_versions
ORDER BY sum(v.events) DESC, v.event_name
$$;

-- Rejected messages per reason and event name over the range (all traffic:
-- a rejected message has no person, so a segment selects none).
CREATE FUNCTION models.dashboard_rejections(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (reason text, event_name text, rejected bigint)
LANGUAGE sql STABLE AS $$
SELECT r.key, t.event_name, sum(r.value::bigint)::bigint
FROM models.tracking_health t
CROSS JOIN LATERAL jsonb_each_text(t.rejection_reasons) r
WHERE p_dimension = 'all' AND models.dashboard_in_range(t.day, p_from, p_to)
GROUP BY r.key, t.event_name
ORDER BY 3 DESC, 1, 2
$$;

-- Alerts on days in the range, newest first, by the rules of
-- tracking_health: a day more than settings.alert_volume_drop below its
-- trailing 7-day mean (the segment's own series under a segment), a
-- rejection rate over settings.alert_rejection_rate (all traffic).
CREATE FUNCTION models.dashboard_alerts(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (day date, event_name text, kind text, events bigint, trailing_7d_mean numeric,
               volume_ratio numeric, rejected bigint, rejection_rate numeric, all_traffic boolean)
LANGUAGE sql STABLE AS $$
WITH series AS (
    SELECT t.event_name, t.day, t.partial_day, t.rejected, t.rejection_rate,
           CASE WHEN p_dimension = 'all' THEN t.events ELSE coalesce(v.events, 0) END AS events
    FROM models.tracking_health t
    LEFT JOIN models.dashboard_volume(NULL, NULL, p_dimension, p_segment) v
           ON p_dimension <> 'all' AND v.event_name = t.event_name AND v.day = t.day
), windowed AS (
    SELECT series.*,
           CASE WHEN count(*) OVER w = 7 THEN avg(events) OVER w END AS trailing_7d_mean
    FROM series
    WINDOW w AS (PARTITION BY event_name ORDER BY day ROWS BETWEEN 7 PRECEDING AND 1 PRECEDING)
)
SELECT t.day, t.event_name, 'volume_drop', t.events, t.trailing_7d_mean,
       t.events / t.trailing_7d_mean, t.rejected, t.rejection_rate, p_dimension = 'all'
FROM windowed t, models.settings s
WHERE models.dashboard_in_range(t.day, p_from, p_to)
  AND NOT t.partial_day AND t.trailing_7d_mean > 0
  AND t.events < (1 - s.alert_volume_drop) * t.trailing_7d_mean
UNION ALL
SELECT t.day, t.event_name, 'rejection_rate', t.events, t.trailing_7d_mean,
       t.events / nullif(t.trailing_7d_mean, 0), t.rejected, t.rejection_rate, true
FROM windowed t, models.settings s
WHERE models.dashboard_in_range(t.day, p_from, p_to)
  AND t.rejection_rate > s.alert_rejection_rate
ORDER BY 1 DESC, 2, 3
$$;

-- Value classes of the micro-conversions among the persons the filter
-- selects: event_value's definitions on that population.
CREATE FUNCTION models.dashboard_value(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (event_name text, persons_with bigint, persons_without bigint,
               gross_profit_90d_with numeric, gross_profit_90d_without numeric,
               uplift numeric, uplift_low numeric, uplift_high numeric, relative_uplift numeric,
               value_class text, declared_class text, class_disagrees boolean,
               occurrences_complete_30d bigint, order_within_30d_share numeric,
               mean_order_revenue numeric, expected_revenue_per_occurrence numeric)
LANGUAGE sql STABLE AS $$
SELECT * FROM models.event_value WHERE models.dashboard_unfiltered(p_from, p_to, p_dimension)
UNION ALL
SELECT * FROM (
WITH persons AS (
    SELECT person_id FROM models.dashboard_persons(p_from, p_to, p_dimension, p_segment)
), population AS (
    SELECT v.person_id, v.gross_profit_90d AS profit
    FROM models.person_value v JOIN persons USING (person_id)
    WHERE v.complete_90d
), totals AS (
    SELECT count(*) AS n, coalesce(sum(profit), 0) AS s, coalesce(sum(profit * profit), 0) AS ss
    FROM population
), outcomes AS (
    SELECT o.event_name, sum(o.occurrences_complete_30d)::bigint AS occurrences_complete_30d,
           sum(o.followed_by_order) AS followed_by_order
    FROM models.occurrence_outcomes o JOIN persons USING (person_id)
    GROUP BY o.event_name
), did AS (
    SELECT e.event_name, count(*) AS n, sum(p.profit) AS s, sum(p.profit * p.profit) AS ss
    FROM models.early_conversions e
    JOIN population p USING (person_id)
    GROUP BY e.event_name
), moments AS (
    SELECT o.event_name,
           coalesce(did.n, 0) AS n1, t.n - coalesce(did.n, 0) AS n0,
           t.s / nullif(t.n, 0) AS mean_all,
           coalesce(did.s, 0) / nullif(coalesce(did.n, 0), 0) AS mean1,
           (t.s - coalesce(did.s, 0)) / nullif(t.n - coalesce(did.n, 0), 0) AS mean0,
           models.sample_variance(coalesce(did.n, 0), coalesce(did.s, 0), coalesce(did.ss, 0)) AS var1,
           models.sample_variance(t.n - coalesce(did.n, 0), t.s - coalesce(did.s, 0),
                                  t.ss - coalesce(did.ss, 0)) AS var0
    FROM outcomes o CROSS JOIN totals t LEFT JOIN did USING (event_name)
), interval95 AS (
    SELECT m.*, m.mean1 - m.mean0 AS uplift,
           models.welch_margin(m.var1, m.n1, m.var0, m.n0) AS margin,
           (m.mean1 - m.mean0) / nullif(m.mean_all, 0) AS relative_uplift
    FROM moments m
), classified AS (
    SELECT i.*,
           CASE
               WHEN i.n1 < s.min_persons_per_side OR i.n0 < s.min_persons_per_side THEN 'unclassified'
               WHEN i.uplift - i.margin <= 0 THEN 'P3'
               ELSE coalesce((SELECT c.value_class FROM models.value_class_thresholds c
                              WHERE i.relative_uplift >= c.min_relative_uplift
                              ORDER BY c.min_relative_uplift DESC LIMIT 1), 'P3')
           END AS value_class
    FROM interval95 i CROSS JOIN models.settings s
), order_mean AS (
    SELECT avg(o.revenue) AS mean_order_revenue FROM models.orders o JOIN persons USING (person_id)
)
SELECT c.event_name, c.n1, c.n0, c.mean1, c.mean0,
       c.uplift, c.uplift - c.margin, c.uplift + c.margin, c.relative_uplift,
       c.value_class, contract.value_class,
       c.value_class <> 'unclassified' AND contract.value_class IS NOT NULL
           AND c.value_class <> contract.value_class,
       o.occurrences_complete_30d,
       o.followed_by_order::numeric / nullif(o.occurrences_complete_30d, 0),
       om.mean_order_revenue,
       o.followed_by_order::numeric / nullif(o.occurrences_complete_30d, 0) * om.mean_order_revenue
FROM classified c
JOIN outcomes o USING (event_name)
CROSS JOIN order_mean om
LEFT JOIN models.contract_latest contract USING (event_name)
) filtered
WHERE NOT models.dashboard_unfiltered(p_from, p_to, p_dimension)
ORDER BY relative_uplift DESC NULLS LAST, event_name
$$;

-- Value per person at 30/60/90/180 days for everyone the filter selects
-- ('all'), and by first-touch channel, landing page and micro-conversion
-- in the first 7 days (cohort_ltv's definitions). The p_limit largest
-- segments of each dimension, by persons.
CREATE FUNCTION models.dashboard_segments(p_from date, p_to date, p_dimension text, p_segment text,
                                          p_limit integer DEFAULT 25)
RETURNS TABLE (dimension text, segment text, persons bigint,
               persons_complete_30d bigint, gross_profit_per_person_30d numeric,
               persons_complete_60d bigint, gross_profit_per_person_60d numeric,
               persons_complete_90d bigint, gross_profit_per_person_90d numeric,
               persons_complete_180d bigint, gross_profit_per_person_180d numeric,
               revenue_per_person_60d numeric, repeat_rate_90d numeric, refund_rate_90d numeric)
LANGUAGE sql STABLE AS $$
WITH precomputed AS (
    SELECT cohort_kind AS dimension, cohort AS segment, persons,
           persons_complete_30d, gross_profit_per_person_30d,
           persons_complete_60d, gross_profit_per_person_60d,
           persons_complete_90d, gross_profit_per_person_90d,
           persons_complete_180d, gross_profit_per_person_180d,
           revenue_per_person_60d, repeat_rate_90d, refund_rate_90d
    FROM models.cohort_ltv
    WHERE models.dashboard_unfiltered(p_from, p_to, p_dimension) AND cohort_kind <> 'first_seen_month'
), persons AS (
    SELECT * FROM models.dashboard_persons(p_from, p_to, p_dimension, p_segment)
    WHERE NOT models.dashboard_unfiltered(p_from, p_to, p_dimension)
), members AS (
    SELECT 'all'::text AS dimension, 'all'::text AS segment, person_id FROM persons
    UNION ALL
    SELECT 'channel', channel, person_id FROM persons
    UNION ALL
    SELECT 'landing_page', landing_page, person_id FROM persons
    UNION ALL
    SELECT 'micro_conversion', e.event_name, e.person_id
    FROM models.early_conversions e JOIN persons USING (person_id)
), sums AS (
    SELECT m.dimension, m.segment,
           count(*) AS persons,
           count(*) FILTER (WHERE v.complete_30d) AS persons_complete_30d,
           avg(v.gross_profit_30d) FILTER (WHERE v.complete_30d) AS gross_profit_per_person_30d,
           count(*) FILTER (WHERE v.complete_60d) AS persons_complete_60d,
           avg(v.gross_profit_60d) FILTER (WHERE v.complete_60d) AS gross_profit_per_person_60d,
           count(*) FILTER (WHERE v.complete_90d) AS persons_complete_90d,
           avg(v.gross_profit_90d) FILTER (WHERE v.complete_90d) AS gross_profit_per_person_90d,
           count(*) FILTER (WHERE v.complete_180d) AS persons_complete_180d,
           avg(v.gross_profit_180d) FILTER (WHERE v.complete_180d) AS gross_profit_per_person_180d,
           avg(v.revenue_60d) FILTER (WHERE v.complete_60d) AS revenue_per_person_60d,
           count(*) FILTER (WHERE v.complete_90d AND v.orders_90d >= 2)::numeric
               / nullif(count(*) FILTER (WHERE v.complete_90d AND v.orders_90d >= 1), 0) AS repeat_rate_90d,
           sum(v.refunded_orders_90d) FILTER (WHERE v.complete_90d)::numeric
               / nullif(sum(v.orders_90d) FILTER (WHERE v.complete_90d), 0) AS refund_rate_90d
    FROM members m
    JOIN models.person_value v USING (person_id)
    GROUP BY m.dimension, m.segment
), ranked AS (
    SELECT all_rows.*,
           row_number() OVER (PARTITION BY dimension ORDER BY persons DESC, segment) AS rank
    FROM (SELECT * FROM precomputed UNION ALL SELECT * FROM sums) all_rows
)
SELECT dimension, segment, persons, persons_complete_30d, gross_profit_per_person_30d,
       persons_complete_60d, gross_profit_per_person_60d, persons_complete_90d,
       gross_profit_per_person_90d, persons_complete_180d, gross_profit_per_person_180d,
       revenue_per_person_60d, repeat_rate_90d, refund_rate_90d
FROM ranked
WHERE rank <= p_limit
ORDER BY CASE dimension WHEN 'all' THEN 0 WHEN 'channel' THEN 1 WHEN 'landing_page' THEN 2 ELSE 3 END,
         persons DESC, segment
$$;

-- The funnels among the persons the filter selects, for them all and split
-- by first-touch device type and channel (funnel's definitions).
CREATE FUNCTION models.dashboard_funnel(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (funnel text, step integer, event_name text, dimension text, segment text,
               persons bigint, rate_from_previous numeric, rate_from_first numeric,
               median_seconds_to_next double precision)
LANGUAGE sql STABLE AS $$
SELECT * FROM (
    SELECT funnel, step, event_name, dimension, segment, persons, rate_from_previous,
           rate_from_first, median_seconds_to_next
    FROM models.funnel
    WHERE models.dashboard_unfiltered(p_from, p_to, p_dimension)
    UNION ALL
    SELECT * FROM (
WITH persons AS (
    SELECT * FROM models.dashboard_persons(p_from, p_to, p_dimension, p_segment)
), progress AS (
    SELECT f.funnel, f.step, f.person_id,
           next_step.reached_at - f.reached_at AS time_to_next, p.device_type, p.channel
    FROM models.funnel_progress f
    JOIN persons p USING (person_id)
    LEFT JOIN models.funnel_progress next_step
           ON next_step.funnel = f.funnel AND next_step.person_id = f.person_id
          AND next_step.step = f.step + 1
), counted AS (
    SELECT funnel, step,
           CASE WHEN GROUPING(device_type) = 0 THEN 'device_type'
                WHEN GROUPING(channel) = 0 THEN 'channel' ELSE 'all' END AS dimension,
           coalesce(CASE WHEN GROUPING(device_type) = 0 THEN device_type
                         WHEN GROUPING(channel) = 0 THEN channel END, 'all') AS segment,
           count(*) AS persons,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM time_to_next))
               FILTER (WHERE time_to_next IS NOT NULL) AS median_seconds_to_next
    FROM progress
    GROUP BY GROUPING SETS ((funnel, step), (funnel, step, device_type), (funnel, step, channel))
), steps AS (
    SELECT s.funnel, s.step, s.event_name, seg.dimension, seg.segment
    FROM models.funnel_steps s
    JOIN (SELECT DISTINCT funnel, dimension, segment FROM counted) seg USING (funnel)
)
SELECT st.funnel, st.step, st.event_name, st.dimension, st.segment,
       coalesce(c.persons, 0),
       coalesce(c.persons, 0)::numeric / nullif(lag(coalesce(c.persons, 0)) OVER w, 0),
       coalesce(c.persons, 0)::numeric / nullif(first_value(coalesce(c.persons, 0)) OVER w, 0),
       c.median_seconds_to_next
FROM steps st
LEFT JOIN counted c USING (funnel, step, dimension, segment)
WINDOW w AS (PARTITION BY st.funnel, st.dimension, st.segment ORDER BY st.step)
    ) filtered
    WHERE NOT models.dashboard_unfiltered(p_from, p_to, p_dimension)
) f
ORDER BY funnel, CASE dimension WHEN 'all' THEN 0 WHEN 'device_type' THEN 1 ELSE 2 END, segment, step
$$;

-- Each experiment's variants among the exposures in the range of persons
-- in the segment (experiment_guardrails' definitions), with the verdict in
-- words.
CREATE FUNCTION models.dashboard_experiments(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (experiment_id text, variant text, is_control boolean, control_variant text,
               persons bigint, new_customers bigint, conversion_30d numeric, buyers_60d bigint,
               repeat_rate_60d numeric, gross_profit_per_person_60d numeric, refund_rate_60d numeric,
               conversion_lift numeric, repeat_rate_change numeric, repeat_rate_z numeric,
               profit_change numeric, profit_change_low numeric, profit_change_high numeric,
               verdict text, verdict_text text)
LANGUAGE sql STABLE AS $$
WITH per_person AS (
    SELECT x.*
    FROM models.experiment_exposures x
    JOIN models.dashboard_persons(NULL, NULL, p_dimension, p_segment) p USING (person_id)
    WHERE x.complete_60d
      AND models.dashboard_in_range((x.exposed_at AT TIME ZONE 'UTC')::date, p_from, p_to)
), variants AS (
    SELECT experiment_id, variant,
           count(*) AS persons,
           count(*) FILTER (WHERE NOT bought_before) AS new_customers,
           count(*) FILTER (WHERE NOT bought_before AND orders_30d > 0) AS first_orders_30d,
           count(*) FILTER (WHERE orders_60d >= 1) AS buyers_60d,
           count(*) FILTER (WHERE orders_60d >= 2) AS repeat_buyers_60d,
           sum(orders_60d) AS orders_60d,
           sum(refunded_orders_60d) AS refunded_orders_60d,
           sum(gross_profit_60d) AS s, sum(gross_profit_60d * gross_profit_60d) AS ss
    FROM per_person
    GROUP BY experiment_id, variant
), rates AS (
    SELECT v.*,
           v.variant = coalesce(ec.control_variant, 'control') AS is_control,
           first_orders_30d::numeric / nullif(new_customers, 0) AS conversion_30d,
           repeat_buyers_60d::numeric / nullif(buyers_60d, 0) AS repeat_rate_60d,
           s / nullif(persons, 0) AS gross_profit_per_person_60d,
           models.sample_variance(persons, s, ss) AS profit_variance,
           refunded_orders_60d::numeric / nullif(orders_60d, 0) AS refund_rate_60d
    FROM variants v
    LEFT JOIN models.experiment_controls ec USING (experiment_id)
), compared AS (
    SELECT r.*,
           c.variant AS control_variant,
           r.conversion_30d - c.conversion_30d AS conversion_lift,
           r.repeat_rate_60d - c.repeat_rate_60d AS repeat_rate_change,
           (r.repeat_rate_60d - c.repeat_rate_60d)
               / nullif(sqrt(((r.repeat_buyers_60d + c.repeat_buyers_60d)::numeric
                              / nullif(r.buyers_60d + c.buyers_60d, 0))
                             * (1 - (r.repeat_buyers_60d + c.repeat_buyers_60d)::numeric
                                    / nullif(r.buyers_60d + c.buyers_60d, 0))
                             * (1::numeric / nullif(r.buyers_60d, 0) + 1::numeric / nullif(c.buyers_60d, 0))), 0)
               AS repeat_rate_z,
           r.gross_profit_per_person_60d - c.gross_profit_per_person_60d AS profit_change,
           models.welch_margin(r.profit_variance, r.persons, c.profit_variance, c.persons)
               AS profit_margin,
           c.persons AS control_persons
    FROM rates r
    LEFT JOIN rates c ON c.experiment_id = r.experiment_id AND c.is_control
), judged AS (
    SELECT j.*,
           j.profit_change + j.profit_margin AS profit_change_high,
           j.profit_change - j.profit_margin AS profit_change_low,
           CASE
               WHEN j.is_control THEN 'control'
               WHEN j.control_variant IS NULL THEN 'no_control'
               WHEN j.persons < s.min_persons_per_side OR j.control_persons < s.min_persons_per_side
                   THEN 'insufficient_data'
               WHEN j.conversion_lift > 0
                    AND (j.repeat_rate_z < -1.959963984540054 OR j.profit_change + j.profit_margin < 0)
                   THEN 'regression'
               ELSE 'no_regression'
           END AS verdict,
           s.min_persons_per_side
    FROM compared j CROSS JOIN models.settings s
), worded AS (
    -- Changes in percentage points, signed.
    SELECT judged.*,
           to_char(conversion_lift * 100, 'FMSG990.0') AS conversion_points,
           to_char(repeat_rate_change * 100, 'FMSG990.0') AS repeat_points
    FROM judged
)
SELECT experiment_id, variant, is_control, control_variant, persons, new_customers, conversion_30d,
       buyers_60d, repeat_rate_60d, gross_profit_per_person_60d, refund_rate_60d, conversion_lift,
       repeat_rate_change, repeat_rate_z, profit_change, profit_change_low, profit_change_high,
       verdict,
       CASE verdict
           WHEN 'control' THEN 'the control the other variants are compared with'
           WHEN 'no_control' THEN 'no control among these exposures to compare with (the variant '
                || 'named in models.experiment_controls, else ''control'')'
           WHEN 'insufficient_data' THEN 'too few persons to judge: fewer than ' || min_persons_per_side
                || ' with 60 complete days on a side'
           WHEN 'regression' THEN 'wins on conversion (' || conversion_points || ' points), loses on '
                || CASE WHEN repeat_rate_z < -1.959963984540054 AND profit_change_high < 0
                            THEN 'repeat purchases (' || repeat_points || ' points) and gross profit per person'
                        WHEN repeat_rate_z < -1.959963984540054
                            THEN 'repeat purchases (' || repeat_points || ' points)'
                        ELSE 'gross profit per person' END
                || ': treat as a regression'
           ELSE CASE WHEN conversion_lift > 0
                     THEN 'wins on conversion (' || conversion_points || ' points) without a '
                          || 'significant loss in repeat purchases or gross profit: no regression found'
                     WHEN conversion_lift IS NULL THEN 'no conversion to compare: no regression found'
                     ELSE 'does not win on conversion (' || conversion_points
                          || ' points): no regression to guard against' END
       END
FROM worded
ORDER BY experiment_id, NOT is_control, variant
$$;

-- The segments a filter can select, with their persons.
CREATE FUNCTION models.dashboard_filters(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (dimension text, segment text, persons bigint)
LANGUAGE sql STABLE AS $$
SELECT 'channel', channel, count(*) FROM models.person_firsts GROUP BY channel
UNION ALL
SELECT 'device_type', device_type, count(*) FROM models.person_firsts GROUP BY device_type
ORDER BY 1, 3 DESC, 2
$$;

-- The page's heading: the data's bounds and what the filter selects.
CREATE FUNCTION models.dashboard_overview(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (horizon timestamptz, first_day date, last_day date, refreshed_at timestamptz,
               persons bigint, persons_complete_90d bigint, events bigint, orders bigint)
LANGUAGE sql STABLE AS $$
WITH persons AS (
    SELECT person_id FROM models.dashboard_persons(p_from, p_to, p_dimension, p_segment)
)
SELECT (SELECT horizon FROM models.horizon),
       (SELECT min(day) FROM models.tracking_health),
       (SELECT max(day) FROM models.tracking_health),
       (SELECT refreshed_at FROM models.state),
       CASE WHEN models.dashboard_unfiltered(p_from, p_to, p_dimension)
            THEN (SELECT count(*) FROM models.person_firsts)
            ELSE (SELECT count(*) FROM persons) END,
       CASE WHEN models.dashboard_unfiltered(p_from, p_to, p_dimension)
            THEN (SELECT count(*) FROM models.person_value WHERE complete_90d)
            ELSE (SELECT count(*) FROM models.person_value v JOIN persons USING (person_id)
                  WHERE v.complete_90d) END,
       (SELECT coalesce(sum(events), 0)::bigint FROM models.dashboard_volume(p_from, p_to, p_dimension, p_segment)),
       CASE WHEN models.dashboard_unfiltered(p_from, p_to, p_dimension)
            THEN (SELECT count(*) FROM models.orders)
            ELSE (SELECT count(*) FROM models.orders o JOIN persons USING (person_id)) END
$$;
