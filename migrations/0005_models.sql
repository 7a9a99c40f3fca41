-- The models analysts query, in the `models` schema. Definitions, with
-- example queries, are in docs/analytics.md; this file is their SQL.
--
-- Every model is a materialized view with a unique index, refreshed with
-- REFRESH MATERIALIZED VIEW CONCURRENTLY in the order of models.refresh_order
-- (`funnelhouse refresh`, `serve` on an interval, or SELECT models.refresh()):
-- readers keep reading the previous contents while a refresh runs, and all
-- models switch together when its transaction commits.
CREATE SCHEMA models;

-- Settings analysts may edit; a refresh applies them.
CREATE TABLE models.settings (
    singleton              boolean  PRIMARY KEY DEFAULT true CHECK (singleton),
    session_timeout        interval NOT NULL DEFAULT '30 minutes' CHECK (session_timeout > '0'),
    min_persons_per_side   integer  NOT NULL DEFAULT 30 CHECK (min_persons_per_side >= 2),
    alert_volume_drop      numeric  NOT NULL DEFAULT 0.2 CHECK (alert_volume_drop BETWEEN 0 AND 1),
    alert_rejection_rate   numeric  NOT NULL DEFAULT 0.05 CHECK (alert_rejection_rate BETWEEN 0 AND 1)
);
INSERT INTO models.settings DEFAULT VALUES;

-- The smallest relative uplift of each value class (P3 is everything below P2).
CREATE TABLE models.value_class_thresholds (
    value_class         text    PRIMARY KEY CHECK (value_class IN ('P0', 'P1', 'P2')),
    min_relative_uplift numeric NOT NULL
);
INSERT INTO models.value_class_thresholds VALUES ('P0', 1.0), ('P1', 0.5), ('P2', 0.1);

-- Funnels: ordered steps numbered 1, 2, 3, ... without gaps.
CREATE TABLE models.funnel_steps (
    funnel     text    NOT NULL,
    step       integer NOT NULL CHECK (step >= 1),
    event_name text    NOT NULL,
    PRIMARY KEY (funnel, step)
);
INSERT INTO models.funnel_steps VALUES
    ('purchase', 1, 'product_viewed'),
    ('purchase', 2, 'add_to_cart'),
    ('purchase', 3, 'checkout_started'),
    ('purchase', 4, 'payment_attempted'),
    ('purchase', 5, 'order_completed');

-- The control variant of an experiment when it is not called 'control'.
CREATE TABLE models.experiment_controls (
    experiment_id   text PRIMARY KEY,
    control_variant text NOT NULL
);

-- What the contracts in schemas/ declare, written by every refresh from the
-- server's schema folder.
CREATE TABLE models.contracts (
    event_name  text NOT NULL,
    version     text NOT NULL,  -- SchemaVer MODEL-REVISION-ADDITION
    value_class text NOT NULL,
    frequency   text NOT NULL CHECK (frequency IN ('every_time', 'once_per_session', 'once_per_user')),
    sources     text[] NOT NULL,
    PRIMARY KEY (event_name, version)
);

CREATE VIEW models.contract_latest AS
SELECT DISTINCT ON (event_name) event_name, version, value_class, frequency, sources
FROM models.contracts
ORDER BY event_name, split_part(version, '-', 1)::int DESC, split_part(version, '-', 2)::int DESC,
         split_part(version, '-', 3)::int DESC;

-- Helpers, pure functions of an event's fields.

-- The host of a URL, lower case, without a leading "www.".
CREATE FUNCTION models.url_host(url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(regexp_replace(lower(substring(url FROM '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^/:?#]+)')),
                                 '^www\.', ''), '')
$$;

-- The value of a query parameter in a URL or a query string, as sent.
CREATE FUNCTION models.query_param(url text, name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(substring(url FROM '(?:^|[?&])' || name || '=([^&#]*)'), '')
$$;

-- The channel an event with page context came through: the campaign source,
-- else utm_source in the page's query, else the referrer's domain when it is
-- another site, else 'direct'. NULL for an event without page context (a
-- backend event says nothing about how the person arrived).
CREATE FUNCTION models.touch_channel(event_type text, context jsonb, properties jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN NOT (context ? 'campaign' OR context ? 'page' OR event_type = 'page') THEN NULL
        ELSE coalesce(
            lower(nullif(btrim(context #>> '{campaign,source}'), '')),
            lower(models.query_param(coalesce(context #>> '{page,search}', properties ->> 'search'), 'utm_source')),
            lower(models.query_param(coalesce(context #>> '{page,url}', properties ->> 'url'), 'utm_source')),
            (SELECT referrer_host
             FROM (SELECT models.url_host(coalesce(context #>> '{page,referrer}', properties ->> 'referrer'))
                              AS referrer_host,
                          models.url_host(coalesce(context #>> '{page,url}', properties ->> 'url'))
                              AS page_host) hosts
             WHERE referrer_host IS DISTINCT FROM page_host),
            'direct')
    END
$$;

-- The path of a page view: its `path`, else the page context's, else the
-- path of its URL.
CREATE FUNCTION models.page_path(context jsonb, properties jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(nullif(properties ->> 'path', ''), nullif(context #>> '{page,path}', ''),
                    nullif(substring(coalesce(properties ->> 'url', context #>> '{page,url}')
                                     FROM '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*(/[^?#]*)'), ''))
$$;

-- mobile, tablet or desktop, from context.device.type or the user agent;
-- NULL when the event says neither.
CREATE FUNCTION models.device_type(context jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN lower(context #>> '{device,type}') IN ('mobile', 'tablet', 'desktop')
            THEN lower(context #>> '{device,type}')
        WHEN lower(context #>> '{device,type}') IN ('ios', 'android') THEN 'mobile'
        WHEN context ->> 'userAgent' ~* '(ipad|tablet)' THEN 'tablet'
        WHEN context ->> 'userAgent' ~* '(mobi|iphone|ipod)' THEN 'mobile'
        WHEN context ->> 'userAgent' ~* 'android' THEN 'tablet'
        WHEN coalesce(context ->> 'userAgent', '') <> '' THEN 'desktop'
    END
$$;

-- The 97.5% quantile of Student's t distribution with `df` degrees of
-- freedom (two-sided 95%), by the Cornish-Fisher expansion (Abramowitz and
-- Stegun 26.7.5): within 1e-5 of the exact value for df >= 29, within 2% for
-- df >= 4. NULL df (no variance on either side) gives the normal 1.959964.
CREATE FUNCTION models.t_975(df double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN df IS NULL OR df = 'Infinity' THEN z
        ELSE z + (z ^ 3 + z) / (4 * df)
               + (5 * z ^ 5 + 16 * z ^ 3 + 3 * z) / (96 * df ^ 2)
               + (3 * z ^ 7 + 19 * z ^ 5 + 17 * z ^ 3 - 15 * z) / (384 * df ^ 3)
               + (79 * z ^ 9 + 776 * z ^ 7 + 1482 * z ^ 5 - 1920 * z ^ 3 - 945 * z) / (92160 * df ^ 4)
    END
    FROM (SELECT 1.959963984540054::double precision AS z) normal
$$;

-- The models, in refresh order.

-- Every event with its stitched person, its session (a gap of
-- settings.session_timeout or more starts a new one) and the touch, page and
-- device it carries.
CREATE MATERIALIZED VIEW models.person_events AS
WITH stitched AS (
    SELECT event_id, person_id, event_name, event_type, occurred_at,
           models.touch_channel(event_type, context, properties) AS channel,
           CASE WHEN event_type = 'page' THEN models.page_path(context, properties) END AS page_path,
           models.device_type(context) AS device_type
    FROM events_stitched
), marked AS (
    SELECT stitched.*,
           CASE WHEN lag(occurred_at) OVER w IS NULL
                  OR occurred_at - lag(occurred_at) OVER w >= (SELECT session_timeout FROM models.settings)
                THEN 1 ELSE 0 END AS starts_session
    FROM stitched
    WINDOW w AS (PARTITION BY person_id ORDER BY occurred_at, event_id)
)
SELECT event_id, person_id, event_name, event_type, occurred_at,
       (sum(starts_session) OVER (PARTITION BY person_id ORDER BY occurred_at, event_id))::integer
           AS session_number,
       channel, page_path, device_type
FROM marked;
CREATE UNIQUE INDEX person_events_id_idx ON models.person_events (event_id);
CREATE INDEX person_events_person_name_idx ON models.person_events (person_id, event_name, occurred_at);

-- The data horizon: the latest occurred_at loaded.
CREATE MATERIALIZED VIEW models.horizon AS
SELECT 1 AS singleton, max(occurred_at) AS horizon, count(*) AS events FROM models.person_events;
CREATE UNIQUE INDEX horizon_singleton_idx ON models.horizon (singleton);

CREATE MATERIALIZED VIEW models.sessions AS
SELECT person_id || '#' || session_number AS session_id, person_id, session_number,
       min(occurred_at) AS started_at, max(occurred_at) AS ended_at, count(*) AS events,
       (array_agg(channel ORDER BY occurred_at, event_id) FILTER (WHERE channel IS NOT NULL))[1] AS channel,
       (array_agg(page_path ORDER BY occurred_at, event_id) FILTER (WHERE page_path IS NOT NULL))[1]
           AS landing_page,
       (array_agg(device_type ORDER BY occurred_at, event_id) FILTER (WHERE device_type IS NOT NULL))[1]
           AS device_type
FROM models.person_events
GROUP BY person_id, session_number;
CREATE UNIQUE INDEX sessions_id_idx ON models.sessions (session_id);
CREATE INDEX sessions_person_idx ON models.sessions (person_id, session_number);

CREATE MATERIALIZED VIEW models.person_firsts AS
SELECT person_id, min(occurred_at) AS first_seen,
       coalesce((array_agg(channel ORDER BY occurred_at, event_id) FILTER (WHERE channel IS NOT NULL))[1],
                'direct') AS channel,
       coalesce((array_agg(page_path ORDER BY occurred_at, event_id) FILTER (WHERE page_path IS NOT NULL))[1],
                '(none)') AS landing_page,
       coalesce((array_agg(device_type ORDER BY occurred_at, event_id) FILTER (WHERE device_type IS NOT NULL))[1],
                'unknown') AS device_type
FROM models.person_events
GROUP BY person_id;
CREATE UNIQUE INDEX person_firsts_person_idx ON models.person_firsts (person_id);

-- One row per order_id (the earliest event when an order was sent twice
-- under different ids).
CREATE MATERIALIZED VIEW models.orders AS
SELECT DISTINCT ON (e.properties ->> 'order_id')
       e.properties ->> 'order_id' AS order_id, e.event_id, pe.person_id, e.occurred_at,
       (e.properties ->> 'revenue')::numeric AS revenue,
       (e.properties ->> 'cost')::numeric AS cost,
       (e.properties ->> 'revenue')::numeric - coalesce((e.properties ->> 'cost')::numeric, 0) AS gross_profit,
       e.properties ->> 'currency' AS currency,
       e.properties ->> 'coupon' AS coupon
FROM events e
JOIN models.person_events pe USING (event_id)
WHERE e.event_name = 'order_completed'
ORDER BY e.properties ->> 'order_id', e.occurred_at, e.event_id;
CREATE UNIQUE INDEX orders_order_idx ON models.orders (order_id);
CREATE INDEX orders_person_idx ON models.orders (person_id, occurred_at);

-- Refunds count against the person of the refunded order when it is known,
-- else against the refund event's own person.
CREATE MATERIALIZED VIEW models.refunds AS
SELECT r.event_id, r.properties ->> 'order_id' AS order_id,
       coalesce(o.person_id, pe.person_id) AS person_id, r.occurred_at,
       (r.properties ->> 'amount')::numeric AS amount,
       o.order_id IS NOT NULL AS order_known
FROM events r
JOIN models.person_events pe USING (event_id)
LEFT JOIN models.orders o ON o.order_id = r.properties ->> 'order_id'
WHERE r.event_name = 'refund_issued';
CREATE UNIQUE INDEX refunds_event_idx ON models.refunds (event_id);
CREATE INDEX refunds_person_idx ON models.refunds (person_id, occurred_at);
CREATE INDEX refunds_order_idx ON models.refunds (order_id, occurred_at);

-- Occurrences of track, page and screen events as counted: the contract's
-- frequency keeps the first per session (once_per_session) or per person
-- (once_per_user); events without a contract count every time.
CREATE MATERIALIZED VIEW models.occurrences AS
WITH ranked AS (
    SELECT pe.event_id, pe.person_id, pe.event_name, pe.occurred_at, pe.session_number,
           coalesce(c.frequency, 'every_time') AS frequency,
           row_number() OVER (PARTITION BY pe.person_id, pe.event_name, pe.session_number
                              ORDER BY pe.occurred_at, pe.event_id) AS nth_in_session,
           row_number() OVER (PARTITION BY pe.person_id, pe.event_name
                              ORDER BY pe.occurred_at, pe.event_id) AS nth_for_person
    FROM models.person_events pe
    LEFT JOIN models.contract_latest c USING (event_name)
    WHERE pe.event_type IN ('track', 'page', 'screen')
)
SELECT event_id, person_id, event_name, occurred_at, session_number, frequency
FROM ranked
WHERE frequency = 'every_time'
   OR (frequency = 'once_per_session' AND nth_in_session = 1)
   OR (frequency = 'once_per_user' AND nth_for_person = 1);
CREATE UNIQUE INDEX occurrences_event_idx ON models.occurrences (event_id);

-- Micro-conversions (every counted event but orders and refunds) each
-- person did in the first 7 days after first_seen.
CREATE MATERIALIZED VIEW models.early_conversions AS
SELECT o.person_id, o.event_name, count(*) AS occurrences, min(o.occurred_at) AS first_at
FROM models.occurrences o
JOIN models.person_firsts p USING (person_id)
WHERE o.occurred_at < p.first_seen + interval '7 days'
  AND o.event_name NOT IN ('order_completed', 'refund_issued')
GROUP BY o.person_id, o.event_name;
CREATE UNIQUE INDEX early_conversions_idx ON models.early_conversions (person_id, event_name);
CREATE INDEX early_conversions_name_idx ON models.early_conversions (event_name);

-- Per person and window [first_seen, first_seen + N days), N = 30, 60, 90,
-- 180: orders, revenue and gross profit net of refunds in the window, the
-- refunds, orders refunded within the window, orders without a cost, and
-- whether the window is complete (ends at or before the horizon).
CREATE MATERIALIZED VIEW models.person_value AS
WITH order_sums AS (
    SELECT p.person_id,
           count(*) FILTER (WHERE o.occurred_at < p.first_seen + interval '30 days') AS orders_30d,
           count(*) FILTER (WHERE o.occurred_at < p.first_seen + interval '60 days') AS orders_60d,
           count(*) FILTER (WHERE o.occurred_at < p.first_seen + interval '90 days') AS orders_90d,
           count(*) FILTER (WHERE o.occurred_at < p.first_seen + interval '180 days') AS orders_180d,
           sum(o.revenue) FILTER (WHERE o.occurred_at < p.first_seen + interval '30 days') AS revenue_30d,
           sum(o.revenue) FILTER (WHERE o.occurred_at < p.first_seen + interval '60 days') AS revenue_60d,
           sum(o.revenue) FILTER (WHERE o.occurred_at < p.first_seen + interval '90 days') AS revenue_90d,
           sum(o.revenue) FILTER (WHERE o.occurred_at < p.first_seen + interval '180 days') AS revenue_180d,
           sum(o.gross_profit) FILTER (WHERE o.occurred_at < p.first_seen + interval '30 days') AS profit_30d,
           sum(o.gross_profit) FILTER (WHERE o.occurred_at < p.first_seen + interval '60 days') AS profit_60d,
           sum(o.gross_profit) FILTER (WHERE o.occurred_at < p.first_seen + interval '90 days') AS profit_90d,
           sum(o.gross_profit) FILTER (WHERE o.occurred_at < p.first_seen + interval '180 days') AS profit_180d,
           count(*) FILTER (WHERE o.cost IS NULL AND o.occurred_at < p.first_seen + interval '30 days') AS costless_30d,
           count(*) FILTER (WHERE o.cost IS NULL AND o.occurred_at < p.first_seen + interval '60 days') AS costless_60d,
           count(*) FILTER (WHERE o.cost IS NULL AND o.occurred_at < p.first_seen + interval '90 days') AS costless_90d,
           count(*) FILTER (WHERE o.cost IS NULL AND o.occurred_at < p.first_seen + interval '180 days') AS costless_180d
    FROM models.person_firsts p
    JOIN models.orders o USING (person_id)
    GROUP BY p.person_id
), refund_sums AS (
    SELECT p.person_id,
           sum(r.amount) FILTER (WHERE r.occurred_at < p.first_seen + interval '30 days') AS refunds_30d,
           sum(r.amount) FILTER (WHERE r.occurred_at < p.first_seen + interval '60 days') AS refunds_60d,
           sum(r.amount) FILTER (WHERE r.occurred_at < p.first_seen + interval '90 days') AS refunds_90d,
           sum(r.amount) FILTER (WHERE r.occurred_at < p.first_seen + interval '180 days') AS refunds_180d
    FROM models.person_firsts p
    JOIN models.refunds r USING (person_id)
    WHERE r.occurred_at >= p.first_seen
    GROUP BY p.person_id
), refunded_orders AS (
    -- An order placed in the window and refunded (at least partly) in it.
    SELECT p.person_id,
           count(DISTINCT o.order_id) FILTER (WHERE first_refund.at < p.first_seen + interval '30 days') AS refunded_30d,
           count(DISTINCT o.order_id) FILTER (WHERE first_refund.at < p.first_seen + interval '60 days') AS refunded_60d,
           count(DISTINCT o.order_id) FILTER (WHERE first_refund.at < p.first_seen + interval '90 days') AS refunded_90d,
           count(DISTINCT o.order_id) FILTER (WHERE first_refund.at < p.first_seen + interval '180 days') AS refunded_180d
    FROM models.person_firsts p
    JOIN models.orders o USING (person_id)
    CROSS JOIN LATERAL (SELECT min(r.occurred_at) AS at FROM models.refunds r
                        WHERE r.order_id = o.order_id AND r.occurred_at >= o.occurred_at) first_refund
    WHERE first_refund.at IS NOT NULL
    GROUP BY p.person_id
)
SELECT p.person_id, p.first_seen,
       p.first_seen + interval '30 days' <= h.horizon AS complete_30d,
       p.first_seen + interval '60 days' <= h.horizon AS complete_60d,
       p.first_seen + interval '90 days' <= h.horizon AS complete_90d,
       p.first_seen + interval '180 days' <= h.horizon AS complete_180d,
       coalesce(o.orders_30d, 0) AS orders_30d,
       coalesce(o.orders_60d, 0) AS orders_60d,
       coalesce(o.orders_90d, 0) AS orders_90d,
       coalesce(o.orders_180d, 0) AS orders_180d,
       coalesce(o.revenue_30d, 0) - coalesce(r.refunds_30d, 0) AS revenue_30d,
       coalesce(o.revenue_60d, 0) - coalesce(r.refunds_60d, 0) AS revenue_60d,
       coalesce(o.revenue_90d, 0) - coalesce(r.refunds_90d, 0) AS revenue_90d,
       coalesce(o.revenue_180d, 0) - coalesce(r.refunds_180d, 0) AS revenue_180d,
       coalesce(o.profit_30d, 0) - coalesce(r.refunds_30d, 0) AS gross_profit_30d,
       coalesce(o.profit_60d, 0) - coalesce(r.refunds_60d, 0) AS gross_profit_60d,
       coalesce(o.profit_90d, 0) - coalesce(r.refunds_90d, 0) AS gross_profit_90d,
       coalesce(o.profit_180d, 0) - coalesce(r.refunds_180d, 0) AS gross_profit_180d,
       coalesce(r.refunds_30d, 0) AS refunds_30d,
       coalesce(r.refunds_60d, 0) AS refunds_60d,
       coalesce(r.refunds_90d, 0) AS refunds_90d,
       coalesce(r.refunds_180d, 0) AS refunds_180d,
       coalesce(ro.refunded_30d, 0) AS refunded_orders_30d,
       coalesce(ro.refunded_60d, 0) AS refunded_orders_60d,
       coalesce(ro.refunded_90d, 0) AS refunded_orders_90d,
       coalesce(ro.refunded_180d, 0) AS refunded_orders_180d,
       coalesce(o.costless_30d, 0) AS orders_without_cost_30d,
       coalesce(o.costless_60d, 0) AS orders_without_cost_60d,
       coalesce(o.costless_90d, 0) AS orders_without_cost_90d,
       coalesce(o.costless_180d, 0) AS orders_without_cost_180d
FROM models.person_firsts p
CROSS JOIN models.horizon h
LEFT JOIN order_sums o USING (person_id)
LEFT JOIN refund_sums r USING (person_id)
LEFT JOIN refunded_orders ro USING (person_id);
CREATE UNIQUE INDEX person_value_person_idx ON models.person_value (person_id);

-- Per cohort: everyone ('all'), those who did a micro-conversion in their
-- first 7 days, a first-touch channel, a first-seen month (UTC). Averages
-- and rates use complete windows only.
CREATE MATERIALIZED VIEW models.cohort_ltv AS
WITH members AS (
    SELECT 'all'::text AS cohort_kind, 'all'::text AS cohort, person_id FROM models.person_firsts
    UNION ALL
    SELECT 'micro_conversion', event_name, person_id FROM models.early_conversions
    UNION ALL
    SELECT 'channel', channel, person_id FROM models.person_firsts
    UNION ALL
    SELECT 'first_seen_month', to_char(first_seen AT TIME ZONE 'UTC', 'YYYY-MM'), person_id
    FROM models.person_firsts
)
SELECT m.cohort_kind, m.cohort,
       count(*) AS persons,
       count(*) FILTER (WHERE v.complete_30d) AS persons_complete_30d,
       avg(v.revenue_30d) FILTER (WHERE v.complete_30d) AS revenue_per_person_30d,
       avg(v.gross_profit_30d) FILTER (WHERE v.complete_30d) AS gross_profit_per_person_30d,
       count(*) FILTER (WHERE v.complete_60d) AS persons_complete_60d,
       avg(v.revenue_60d) FILTER (WHERE v.complete_60d) AS revenue_per_person_60d,
       avg(v.gross_profit_60d) FILTER (WHERE v.complete_60d) AS gross_profit_per_person_60d,
       count(*) FILTER (WHERE v.complete_90d) AS persons_complete_90d,
       avg(v.revenue_90d) FILTER (WHERE v.complete_90d) AS revenue_per_person_90d,
       avg(v.gross_profit_90d) FILTER (WHERE v.complete_90d) AS gross_profit_per_person_90d,
       count(*) FILTER (WHERE v.complete_180d) AS persons_complete_180d,
       avg(v.revenue_180d) FILTER (WHERE v.complete_180d) AS revenue_per_person_180d,
       avg(v.gross_profit_180d) FILTER (WHERE v.complete_180d) AS gross_profit_per_person_180d,
       count(*) FILTER (WHERE v.complete_90d AND v.orders_90d >= 2)::numeric
           / nullif(count(*) FILTER (WHERE v.complete_90d AND v.orders_90d >= 1), 0) AS repeat_rate_90d,
       sum(v.refunded_orders_90d) FILTER (WHERE v.complete_90d)::numeric
           / nullif(sum(v.orders_90d) FILTER (WHERE v.complete_90d), 0) AS refund_rate_90d,
       sum(v.orders_without_cost_90d) FILTER (WHERE v.complete_90d) AS orders_without_cost_90d
FROM members m
JOIN models.person_value v USING (person_id)
GROUP BY m.cohort_kind, m.cohort;
CREATE UNIQUE INDEX cohort_ltv_idx ON models.cohort_ltv (cohort_kind, cohort);

-- Per micro-conversion X, among persons with a complete 90-day window: the
-- mean 90-day gross profit of those who did X in their first 7 days and of
-- those who did not, the difference (uplift) with its 95% Welch interval,
-- the relative uplift and the value class; and the expected revenue of one
-- occurrence of X.
CREATE MATERIALIZED VIEW models.event_value AS
WITH population AS (
    SELECT person_id, gross_profit_90d AS profit FROM models.person_value WHERE complete_90d
), totals AS (
    SELECT count(*) AS n, coalesce(sum(profit), 0) AS s, coalesce(sum(profit * profit), 0) AS ss
    FROM population
), names AS (
    SELECT DISTINCT event_name FROM models.occurrences
    WHERE event_name NOT IN ('order_completed', 'refund_issued')
), did AS (
    SELECT e.event_name, count(*) AS n, sum(p.profit) AS s, sum(p.profit * p.profit) AS ss
    FROM models.early_conversions e
    JOIN population p USING (person_id)
    GROUP BY e.event_name
), sides AS (
    SELECT names.event_name,
           coalesce(did.n, 0) AS n1, coalesce(did.s, 0) AS s1, coalesce(did.ss, 0) AS ss1,
           totals.n - coalesce(did.n, 0) AS n0, totals.s - coalesce(did.s, 0) AS s0,
           totals.ss - coalesce(did.ss, 0) AS ss0,
           totals.s / nullif(totals.n, 0) AS mean_all
    FROM names CROSS JOIN totals LEFT JOIN did USING (event_name)
), moments AS (
    SELECT event_name, n1, n0, mean_all,
           s1 / nullif(n1, 0) AS mean1, s0 / nullif(n0, 0) AS mean0,
           (ss1 - s1 * s1 / nullif(n1, 0)) / nullif(n1 - 1, 0) AS var1,
           (ss0 - s0 * s0 / nullif(n0, 0)) / nullif(n0 - 1, 0) AS var0
    FROM sides
), welch AS (
    SELECT moments.*, mean1 - mean0 AS uplift,
           var1 / n1 + var0 / n0 AS se2,
           ((var1 / n1 + var0 / n0) ^ 2
               / nullif((var1 / n1) ^ 2 / (n1 - 1) + (var0 / n0) ^ 2 / (n0 - 1), 0))::double precision AS df
    FROM moments
), interval95 AS (
    SELECT welch.*,
           uplift - (models.t_975(df) * sqrt(se2::double precision))::numeric AS uplift_low,
           uplift + (models.t_975(df) * sqrt(se2::double precision))::numeric AS uplift_high,
           uplift / nullif(mean_all, 0) AS relative_uplift
    FROM welch
), occurrence_value AS (
    SELECT o.event_name, count(*) AS occurrences_complete_30d,
           count(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM models.orders od
               WHERE od.person_id = o.person_id AND od.occurred_at >= o.occurred_at
                 AND od.occurred_at < o.occurred_at + interval '30 days')) AS followed_by_order
    FROM models.occurrences o
    CROSS JOIN models.horizon h
    WHERE o.occurred_at + interval '30 days' <= h.horizon
      AND o.event_name NOT IN ('order_completed', 'refund_issued')
    GROUP BY o.event_name
), order_mean AS (
    SELECT avg(revenue) AS mean_order_revenue FROM models.orders
), classified AS (
    SELECT i.*,
           CASE
               WHEN n1 < s.min_persons_per_side OR n0 < s.min_persons_per_side THEN 'unclassified'
               WHEN uplift_low <= 0 THEN 'P3'
               WHEN relative_uplift >= (SELECT min_relative_uplift FROM models.value_class_thresholds WHERE value_class = 'P0') THEN 'P0'
               WHEN relative_uplift >= (SELECT min_relative_uplift FROM models.value_class_thresholds WHERE value_class = 'P1') THEN 'P1'
               WHEN relative_uplift >= (SELECT min_relative_uplift FROM models.value_class_thresholds WHERE value_class = 'P2') THEN 'P2'
               ELSE 'P3'
           END AS value_class
    FROM interval95 i CROSS JOIN models.settings s
)
SELECT c.event_name,
       c.n1 AS persons_with, c.n0 AS persons_without,
       c.mean1 AS gross_profit_90d_with, c.mean0 AS gross_profit_90d_without,
       c.uplift, c.uplift_low, c.uplift_high, c.relative_uplift,
       c.value_class,
       contract.value_class AS declared_class,
       c.value_class <> 'unclassified' AND contract.value_class IS NOT NULL
           AND c.value_class <> contract.value_class AS class_disagrees,
       coalesce(ov.occurrences_complete_30d, 0) AS occurrences_complete_30d,
       ov.followed_by_order::numeric / nullif(ov.occurrences_complete_30d, 0) AS order_within_30d_share,
       om.mean_order_revenue,
       ov.followed_by_order::numeric / nullif(ov.occurrences_complete_30d, 0) * om.mean_order_revenue
           AS expected_revenue_per_occurrence
FROM classified c
CROSS JOIN order_mean om
LEFT JOIN occurrence_value ov USING (event_name)
LEFT JOIN models.contract_latest contract USING (event_name);
CREATE UNIQUE INDEX event_value_name_idx ON models.event_value (event_name);

-- Funnels: a person reaches step 1 at their first event of step 1, and step
-- k at their first event of step k at or after reaching step k - 1.
CREATE MATERIALIZED VIEW models.funnel_progress AS
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
SELECT funnel, step, person_id, reached_at FROM reached;
CREATE UNIQUE INDEX funnel_progress_idx ON models.funnel_progress (funnel, person_id, step);

-- Per funnel and step, for everyone and split by device type and by channel
-- (both first-touch): persons reaching the step, the rate from the previous
-- step and from the first, and the median time to the next step of those
-- who reach it.
CREATE MATERIALIZED VIEW models.funnel AS
WITH progress AS (
    SELECT f.funnel, f.step, f.person_id, f.reached_at,
           next_step.reached_at - f.reached_at AS time_to_next,
           p.device_type, p.channel
    FROM models.funnel_progress f
    JOIN models.person_firsts p USING (person_id)
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
    -- Every step of every segment, also those nobody reached.
    SELECT s.funnel, s.step, s.event_name, seg.dimension, seg.segment
    FROM models.funnel_steps s
    JOIN (SELECT DISTINCT funnel, dimension, segment FROM counted) seg USING (funnel)
)
SELECT st.funnel, st.step, st.event_name, st.dimension, st.segment,
       coalesce(c.persons, 0) AS persons,
       coalesce(c.persons, 0)::numeric
           / nullif(lag(coalesce(c.persons, 0)) OVER w, 0) AS rate_from_previous,
       coalesce(c.persons, 0)::numeric / nullif(first_value(coalesce(c.persons, 0)) OVER w, 0)
           AS rate_from_first,
       c.median_seconds_to_next
FROM steps st
LEFT JOIN counted c USING (funnel, step, dimension, segment)
WINDOW w AS (PARTITION BY st.funnel, st.dimension, st.segment ORDER BY st.step);
CREATE UNIQUE INDEX funnel_idx ON models.funnel (funnel, dimension, segment, step);

-- Traffic quality per first-touch channel and per landing page.
CREATE MATERIALIZED VIEW models.traffic_quality AS
WITH valuable AS (
    SELECT DISTINCT e.person_id
    FROM models.early_conversions e
    JOIN models.event_value v USING (event_name)
    WHERE v.value_class IN ('P0', 'P1', 'P2')
), persons AS (
    SELECT p.person_id, p.channel, p.landing_page, v.*,
           p.first_seen + interval '7 days' <= h.horizon AS complete_7d,
           x.person_id IS NOT NULL AS reached_valuable
    FROM models.person_firsts p
    JOIN models.person_value v USING (person_id)
    CROSS JOIN models.horizon h
    LEFT JOIN valuable x USING (person_id)
)
SELECT CASE WHEN GROUPING(channel) = 0 THEN 'channel' ELSE 'landing_page' END AS dimension,
       CASE WHEN GROUPING(channel) = 0 THEN channel ELSE landing_page END AS segment,
       count(*) AS persons,
       avg((orders_30d > 0)::int) FILTER (WHERE complete_30d) AS first_order_rate_30d,
       avg(gross_profit_90d) FILTER (WHERE complete_90d) AS gross_profit_per_person_90d,
       count(*) FILTER (WHERE complete_90d AND orders_90d >= 2)::numeric
           / nullif(count(*) FILTER (WHERE complete_90d AND orders_90d >= 1), 0) AS repeat_rate_90d,
       avg(reached_valuable::int) FILTER (WHERE complete_7d) AS valuable_micro_conversion_share
FROM persons
GROUP BY GROUPING SETS ((channel), (landing_page));
CREATE UNIQUE INDEX traffic_quality_idx ON models.traffic_quality (dimension, segment);

CREATE VIEW models.channel_quality AS
SELECT segment AS channel, persons, first_order_rate_30d, gross_profit_per_person_90d,
       repeat_rate_90d, valuable_micro_conversion_share
FROM models.traffic_quality WHERE dimension = 'channel';

CREATE VIEW models.landing_page_quality AS
SELECT segment AS landing_page, persons, first_order_rate_30d, gross_profit_per_person_90d,
       repeat_rate_90d, valuable_micro_conversion_share
FROM models.traffic_quality WHERE dimension = 'landing_page';

-- Experiments: each person's first exposure (experiment_viewed) per
-- experiment decides the variant; persons whose 60 days after exposure are
-- complete are compared with the control variant.
CREATE MATERIALIZED VIEW models.experiment_guardrails AS
WITH exposures AS (
    SELECT DISTINCT ON (pe.person_id, e.properties ->> 'experiment_id')
           pe.person_id, e.properties ->> 'experiment_id' AS experiment_id,
           e.properties ->> 'variant' AS variant, e.occurred_at AS exposed_at
    FROM events e
    JOIN models.person_events pe USING (event_id)
    WHERE e.event_name = 'experiment_viewed'
    ORDER BY pe.person_id, e.properties ->> 'experiment_id', e.occurred_at, e.event_id
), per_person AS (
    SELECT x.experiment_id, x.variant, x.person_id,
           EXISTS (SELECT 1 FROM models.orders o
                   WHERE o.person_id = x.person_id AND o.occurred_at < x.exposed_at) AS bought_before,
           w.orders_30d, w.orders_60d, w.refunded_orders_60d,
           w.profit_60d - coalesce(rf.amount, 0) AS gross_profit_60d
    FROM exposures x
    CROSS JOIN models.horizon h
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE o.occurred_at < x.exposed_at + interval '30 days') AS orders_30d,
               count(*) AS orders_60d,
               coalesce(sum(o.gross_profit), 0) AS profit_60d,
               count(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM models.refunds r
                   WHERE r.order_id = o.order_id AND r.occurred_at >= o.occurred_at
                     AND r.occurred_at < x.exposed_at + interval '60 days')) AS refunded_orders_60d
        FROM models.orders o
        WHERE o.person_id = x.person_id AND o.occurred_at >= x.exposed_at
          AND o.occurred_at < x.exposed_at + interval '60 days') w
    CROSS JOIN LATERAL (
        SELECT sum(r.amount) AS amount FROM models.refunds r
        WHERE r.person_id = x.person_id AND r.occurred_at >= x.exposed_at
          AND r.occurred_at < x.exposed_at + interval '60 days') rf
    WHERE x.exposed_at + interval '60 days' <= h.horizon
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
           (ss - s * s / nullif(persons, 0)) / nullif(persons - 1, 0) AS profit_variance,
           refunded_orders_60d::numeric / nullif(orders_60d, 0) AS refund_rate_60d
    FROM variants v
    LEFT JOIN models.experiment_controls ec USING (experiment_id)
), compared AS (
    SELECT r.*,
           c.variant AS control_variant,
           r.conversion_30d - c.conversion_30d AS conversion_lift,
           r.repeat_rate_60d - c.repeat_rate_60d AS repeat_rate_change,
           -- Two-proportion z statistic with the pooled rate.
           (r.repeat_rate_60d - c.repeat_rate_60d)
               / nullif(sqrt(((r.repeat_buyers_60d + c.repeat_buyers_60d)::numeric
                              / nullif(r.buyers_60d + c.buyers_60d, 0))
                             * (1 - (r.repeat_buyers_60d + c.repeat_buyers_60d)::numeric
                                    / nullif(r.buyers_60d + c.buyers_60d, 0))
                             * (1::numeric / nullif(r.buyers_60d, 0) + 1::numeric / nullif(c.buyers_60d, 0))), 0)
               AS repeat_rate_z,
           r.gross_profit_per_person_60d - c.gross_profit_per_person_60d AS profit_change,
           r.profit_variance / r.persons + c.profit_variance / c.persons AS se2,
           ((r.profit_variance / r.persons + c.profit_variance / c.persons) ^ 2
               / nullif((r.profit_variance / r.persons) ^ 2 / nullif(r.persons - 1, 0)
                        + (c.profit_variance / c.persons) ^ 2 / nullif(c.persons - 1, 0), 0))::double precision AS df,
           c.persons AS control_persons
    FROM rates r
    LEFT JOIN rates c ON c.experiment_id = r.experiment_id AND c.is_control
), judged AS (
    SELECT compared.*,
           profit_change + (models.t_975(df) * sqrt(se2::double precision))::numeric AS profit_change_high,
           profit_change - (models.t_975(df) * sqrt(se2::double precision))::numeric AS profit_change_low
    FROM compared
)
SELECT j.experiment_id, j.variant, j.is_control, j.control_variant,
       j.persons, j.new_customers, j.conversion_30d, j.buyers_60d, j.repeat_rate_60d,
       j.gross_profit_per_person_60d, j.refund_rate_60d,
       j.conversion_lift, j.repeat_rate_change, j.repeat_rate_z,
       j.profit_change, j.profit_change_low, j.profit_change_high,
       CASE
           WHEN j.is_control THEN 'control'
           WHEN j.control_variant IS NULL THEN 'no_control'
           WHEN j.persons < s.min_persons_per_side OR j.control_persons < s.min_persons_per_side
               THEN 'insufficient_data'
           WHEN j.conversion_lift > 0
                AND (j.repeat_rate_z < -1.959963984540054 OR j.profit_change_high < 0) THEN 'regression'
           ELSE 'no_regression'
       END AS verdict
FROM judged j
CROSS JOIN models.settings s;
CREATE UNIQUE INDEX experiment_guardrails_idx ON models.experiment_guardrails (experiment_id, variant);

-- Tracking health per event name and UTC day of receipt. Browser copies of
-- server-only events (refused as source_not_allowed while the server copy is
-- stored) are expected and are not counted as rejections.
CREATE MATERIALIZED VIEW models.tracking_health AS
WITH valid AS (
    SELECT event_name, (received_at AT TIME ZONE 'UTC')::date AS day,
           count(*) AS events,
           count(*) FILTER (WHERE sources = 'browser') AS browser_only,
           count(*) FILTER (WHERE sources = 'server') AS server_only,
           count(*) FILTER (WHERE sources = 'both') AS both_sources,
           array_agg(DISTINCT schema_version ORDER BY schema_version) AS schema_versions
    FROM events
    GROUP BY 1, 2
), rejections AS (
    SELECT coalesce(b.event_name, '(unnamed)') AS event_name,
           (b.received_at AT TIME ZONE 'UTC')::date AS day, b.reason
    FROM bad_events b
    WHERE NOT (b.reason = 'source_not_allowed' AND b.source = 'browser'
               AND EXISTS (SELECT 1 FROM events e WHERE e.event_id = b.event_id))
), rejected AS (
    SELECT event_name, day, sum(n) AS rejected, jsonb_object_agg(reason, n) AS rejection_reasons
    FROM (SELECT event_name, day, reason, count(*) AS n FROM rejections GROUP BY 1, 2, 3) per_reason
    GROUP BY 1, 2
), seen AS (
    SELECT event_name, day FROM valid UNION SELECT event_name, day FROM rejected
), bounds AS (
    SELECT event_name, min(day) AS first_day FROM seen GROUP BY event_name
), last AS (
    SELECT max(day) AS last_day FROM seen
), days AS (
    SELECT b.event_name, d::date AS day
    FROM bounds b CROSS JOIN last l
    CROSS JOIN LATERAL generate_series(b.first_day, l.last_day, interval '1 day') d
), filled AS (
    SELECT d.event_name, d.day,
           coalesce(v.events, 0) AS events,
           coalesce(v.browser_only, 0) AS browser_only,
           coalesce(v.server_only, 0) AS server_only,
           coalesce(v.both_sources, 0) AS both_sources,
           coalesce(v.schema_versions, '{}') AS schema_versions,
           coalesce(r.rejected, 0) AS rejected,
           coalesce(r.rejection_reasons, '{}') AS rejection_reasons,
           d.day = (SELECT last_day FROM last) AS partial_day
    FROM days d
    LEFT JOIN valid v USING (event_name, day)
    LEFT JOIN rejected r USING (event_name, day)
), with_trailing AS (
    SELECT filled.*,
           CASE WHEN count(*) OVER w = 7 THEN avg(events) OVER w END AS trailing_7d_mean
    FROM filled
    WINDOW w AS (PARTITION BY event_name ORDER BY day ROWS BETWEEN 7 PRECEDING AND 1 PRECEDING)
)
SELECT t.event_name, t.day, t.events, t.browser_only, t.server_only, t.both_sources,
       t.schema_versions, t.rejected, t.rejection_reasons, t.partial_day,
       t.trailing_7d_mean,
       t.events / nullif(t.trailing_7d_mean, 0) AS volume_ratio,
       t.rejected::numeric / nullif(t.events + t.rejected, 0) AS rejection_rate,
       coalesce(NOT t.partial_day AND t.trailing_7d_mean > 0
                    AND t.events < (1 - s.alert_volume_drop) * t.trailing_7d_mean, false)
           OR coalesce(t.rejected::numeric / nullif(t.events + t.rejected, 0) > s.alert_rejection_rate, false)
           AS alert
FROM with_trailing t
CROSS JOIN models.settings s;
CREATE UNIQUE INDEX tracking_health_idx ON models.tracking_health (event_name, day);

-- The refresh order: each model after the ones it reads.
CREATE TABLE models.refresh_order (
    position integer PRIMARY KEY,
    model    text    NOT NULL UNIQUE
);
INSERT INTO models.refresh_order VALUES
    (1, 'person_events'), (2, 'horizon'), (3, 'sessions'), (4, 'person_firsts'),
    (5, 'orders'), (6, 'refunds'), (7, 'occurrences'), (8, 'early_conversions'),
    (9, 'person_value'), (10, 'cohort_ltv'), (11, 'event_value'), (12, 'funnel_progress'),
    (13, 'funnel'), (14, 'traffic_quality'), (15, 'experiment_guardrails'),
    (16, 'tracking_health');

-- Refreshes every model in one transaction (the caller's), without blocking
-- readers. Two refreshes never run at once: the second waits.
CREATE FUNCTION models.refresh() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    item record;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('funnelhouse.models.refresh'));
    FOR item IN SELECT model FROM models.refresh_order ORDER BY position LOOP
        EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY models.%I', item.model);
    END LOOP;
END;
$$;
