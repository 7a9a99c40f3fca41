-- The models analysts query, as views in the `models` schema. Definitions,
-- with example queries, are in docs/analytics.md; this file is their SQL.
--
-- Each model is computed into a table of one of two buffer schemas,
-- models_a and models_b, and the view of the same name in `models` shows the
-- current one. A refresh (`funnelhouse refresh`, `serve` on an interval, or
-- SELECT models.refresh()) rebuilds every model in the other buffer, in the
-- order of models.definitions, then switches the views, all in one
-- transaction: readers keep reading the previous rows without waiting, and
-- every model changes at once when it commits.
--
-- The buffer tables are unlogged: they hold nothing a refresh cannot
-- rebuild, and skipping the write-ahead log makes a refresh much faster.
-- After a database crash they are empty until the next refresh (serve
-- refreshes when it starts), and streaming replicas do not have them.
CREATE SCHEMA models;
CREATE SCHEMA models_a;
CREATE SCHEMA models_b;

-- Settings analysts may edit; a refresh applies them.
CREATE TABLE models.settings (
    singleton              boolean  PRIMARY KEY DEFAULT true CHECK (singleton),
    session_timeout        interval NOT NULL DEFAULT '30 minutes' CHECK (session_timeout > '0'),
    min_persons_per_side   integer  NOT NULL DEFAULT 30 CHECK (min_persons_per_side >= 2),
    alert_volume_drop      numeric  NOT NULL DEFAULT 0.2 CHECK (alert_volume_drop BETWEEN 0 AND 1),
    alert_rejection_rate   numeric  NOT NULL DEFAULT 0.05 CHECK (alert_rejection_rate BETWEEN 0 AND 1),
    -- work_mem of the refresh transaction: sorts of a million rows stay in memory.
    refresh_work_mem       text     NOT NULL DEFAULT '256MB'
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
    -- String functions rather than a regular expression: this runs for
    -- every session. scheme://[user@]host[:port][/path][?query][#fragment]
    SELECT CASE WHEN url ~ '^[A-Za-z][A-Za-z0-9+.-]*://' THEN
        nullif(regexp_replace(lower(split_part(
            substr(split_part(split_part(split_part(split_part(url, '://', 2), '/', 1), '?', 1), '#', 1),
                   strpos(split_part(split_part(split_part(split_part(url, '://', 2), '/', 1), '?', 1), '#', 1), '@') + 1),
            ':', 1)), '^www\.', ''), '')
    END
$$;

-- The value of a query parameter in a URL or a query string, as sent.
CREATE FUNCTION models.query_param(url text, name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN strpos(url, name || '=') > 0
                THEN nullif(substring(url FROM '(?:^|[?&])' || name || '=([^&#]*)'), '') END
$$;

-- The referrer's host when it is another site's; NULL for none or the
-- page's own.
CREATE FUNCTION models.external_host(referrer text, page_url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN coalesce(referrer, '') <> ''
                 AND models.url_host(referrer) IS DISTINCT FROM models.url_host(page_url)
                THEN models.url_host(referrer) END
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
            models.external_host(coalesce(context #>> '{page,referrer}', properties ->> 'referrer'),
                                 coalesce(context #>> '{page,url}', properties ->> 'url')),
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

-- The sample variance (denominator n - 1) from a count, a sum and a sum of
-- squares; NULL for fewer than two values.
CREATE FUNCTION models.sample_variance(n numeric, s numeric, ss numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (ss - s * s / nullif(n, 0)) / nullif(n - 1, 0)
$$;

-- Half the width of the 95% Welch interval of a difference of two means:
-- t(0.975, df) * sqrt(var1/n1 + var0/n0), df by Welch-Satterthwaite. NULL
-- when either side has no variance.
CREATE FUNCTION models.welch_margin(var1 numeric, n1 numeric, var0 numeric, n0 numeric)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (models.t_975(((var1 / nullif(n1, 0) + var0 / nullif(n0, 0)) ^ 2
                / nullif((var1 / nullif(n1, 0)) ^ 2 / nullif(n1 - 1, 0)
                         + (var0 / nullif(n0, 0)) ^ 2 / nullif(n0 - 1, 0), 0))::double precision)
            * sqrt((var1 / nullif(n1, 0) + var0 / nullif(n0, 0))::double precision))::numeric
$$;

-- The models, in refresh order. Each query reads the models before it as
-- @models.<name>; a refresh fills the buffer schema it is building
-- (models_a or models_b) and the queries read that buffer.
CREATE TABLE models.definitions (
    position integer PRIMARY KEY,
    model    text    NOT NULL UNIQUE,
    kind     text    NOT NULL CHECK (kind IN ('table', 'view')),
    query    text    NOT NULL,
    indexes  text[]  NOT NULL DEFAULT '{}'
);

-- Every event with its stitched person and its session: a gap of
-- settings.session_timeout or more starts a new one.
INSERT INTO models.definitions VALUES (1, 'person_events', 'table', $q$
WITH narrow AS (
    -- Only what the models need, decided before sorting (OFFSET 0 keeps
    -- the planner from carrying whole events through the sort).
    SELECT event_id, person_id, event_name, event_type, occurred_at,
           context ? 'campaign' OR context ? 'page' OR event_type = 'page' AS has_touch,
           context ? 'userAgent' OR context ? 'device' AS has_device
    FROM events_stitched
    OFFSET 0
), marked AS (
    SELECT narrow.*,
           CASE WHEN lag(occurred_at) OVER w IS NULL
                  OR occurred_at - lag(occurred_at) OVER w >= (SELECT session_timeout FROM models.settings)
                THEN 1 ELSE 0 END AS starts_session
    FROM narrow
    WINDOW w AS (PARTITION BY person_id ORDER BY occurred_at, event_id)
)
SELECT event_id, person_id, event_name, event_type, occurred_at,
       (sum(starts_session) OVER (PARTITION BY person_id ORDER BY occurred_at, event_id))::integer
           AS session_number,
       has_touch, has_device
FROM marked
$q$, ARRAY['CREATE INDEX ON @models.person_events (person_id, event_name, occurred_at)']::text[]);

-- The data horizon: the latest occurred_at loaded.
INSERT INTO models.definitions VALUES (2, 'horizon', 'table', $q$
SELECT 1 AS singleton, max(occurred_at) AS horizon, count(*) AS events FROM @models.person_events
$q$, ARRAY['CREATE UNIQUE INDEX ON @models.horizon (singleton)']::text[]);

-- Sessions, with the channel, landing page and device type of the first
-- event in each that carries one (the functions run on those events only).
INSERT INTO models.definitions VALUES (3, 'sessions', 'table', $q$
WITH grouped AS (
    SELECT pe.person_id, pe.session_number,
           min(pe.occurred_at) AS started_at, max(pe.occurred_at) AS ended_at, count(*) AS events,
           (array_agg(pe.event_id ORDER BY pe.occurred_at, pe.event_id) FILTER (WHERE pe.has_touch))[1]
               AS touch_event,
           (array_agg(pe.event_id ORDER BY pe.occurred_at, pe.event_id)
                FILTER (WHERE pe.event_type = 'page'))[1] AS page_event,
           (array_agg(pe.event_id ORDER BY pe.occurred_at, pe.event_id) FILTER (WHERE pe.has_device))[1]
               AS device_event
    FROM @models.person_events pe
    GROUP BY pe.person_id, pe.session_number
)
SELECT g.person_id || '#' || g.session_number AS session_id, g.person_id, g.session_number,
       g.started_at, g.ended_at, g.events,
       (SELECT models.touch_channel(e.event_type, e.context, e.properties)
        FROM events e WHERE e.event_id = g.touch_event) AS channel,
       (SELECT models.page_path(e.context, e.properties)
        FROM events e WHERE e.event_id = g.page_event) AS landing_page,
       (SELECT models.device_type(e.context) FROM events e WHERE e.event_id = g.device_event)
           AS device_type
FROM grouped g
$q$, ARRAY['CREATE UNIQUE INDEX ON @models.sessions (session_id)']::text[]);

-- First touch: the first session that carries each.
INSERT INTO models.definitions VALUES (4, 'person_firsts', 'table', $q$
SELECT person_id, min(started_at) AS first_seen,
       coalesce((array_agg(channel ORDER BY session_number) FILTER (WHERE channel IS NOT NULL))[1],
                'direct') AS channel,
       coalesce((array_agg(landing_page ORDER BY session_number) FILTER (WHERE landing_page IS NOT NULL))[1],
                '(none)') AS landing_page,
       coalesce((array_agg(device_type ORDER BY session_number) FILTER (WHERE device_type IS NOT NULL))[1],
                'unknown') AS device_type
FROM @models.sessions
GROUP BY person_id
$q$, ARRAY['CREATE UNIQUE INDEX ON @models.person_firsts (person_id)']::text[]);

-- One row per order_id (the earliest event when an order was sent twice
-- under different ids).
INSERT INTO models.definitions VALUES (5, 'orders', 'table', $q$
SELECT DISTINCT ON (e.properties ->> 'order_id')
       e.properties ->> 'order_id' AS order_id, e.event_id, pe.person_id, e.occurred_at,
       (e.properties ->> 'revenue')::numeric AS revenue,
       (e.properties ->> 'cost')::numeric AS cost,
       (e.properties ->> 'revenue')::numeric - coalesce((e.properties ->> 'cost')::numeric, 0) AS gross_profit,
       e.properties ->> 'currency' AS currency,
       e.properties ->> 'coupon' AS coupon
FROM events e
JOIN @models.person_events pe USING (event_id)
WHERE e.event_name = 'order_completed'
ORDER BY e.properties ->> 'order_id', e.occurred_at, e.event_id
$q$, ARRAY['CREATE UNIQUE INDEX ON @models.orders (order_id)', 'CREATE INDEX ON @models.orders (person_id, occurred_at)']::text[]);

-- Refunds count against the person of the refunded order when it is known,
-- else against the refund event's own person.
INSERT INTO models.definitions VALUES (6, 'refunds', 'table', $q$
SELECT r.event_id, r.properties ->> 'order_id' AS order_id,
       coalesce(o.person_id, pe.person_id) AS person_id, r.occurred_at,
       (r.properties ->> 'amount')::numeric AS amount,
       o.order_id IS NOT NULL AS order_known
FROM events r
JOIN @models.person_events pe USING (event_id)
LEFT JOIN @models.orders o ON o.order_id = r.properties ->> 'order_id'
WHERE r.event_name = 'refund_issued'
$q$, ARRAY['CREATE UNIQUE INDEX ON @models.refunds (event_id)', 'CREATE INDEX ON @models.refunds (person_id, occurred_at)', 'CREATE INDEX ON @models.refunds (order_id, occurred_at)']::text[]);

-- Occurrences of track, page and screen events as counted: the contract's
-- frequency keeps the first per session (once_per_session) or per person
-- (once_per_user); events without a contract count every time. A view: the
-- models that count occurrences read it during their refresh.
INSERT INTO models.definitions VALUES (7, 'occurrences', 'view', $q$
WITH counted AS (
    SELECT pe.event_id, pe.person_id, pe.event_name, pe.occurred_at, pe.session_number,
           coalesce(c.frequency, 'every_time') AS frequency
    FROM @models.person_events pe
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
$q$, '{}');

-- Micro-conversions (every counted event but orders and refunds) each
-- person did in the first 7 days after first_seen.
INSERT INTO models.definitions VALUES (8, 'early_conversions', 'table', $q$
-- The same counts as @models.occurrences restricted to the window: a session
-- (or person) whose first occurrence is in the window has one there, and
-- one that has an occurrence there has its first there too.
WITH per_session AS (
    SELECT pe.person_id, pe.event_name, coalesce(c.frequency, 'every_time') AS frequency,
           count(*) AS events, min(pe.occurred_at) AS first_at
    FROM @models.person_events pe
    JOIN @models.person_firsts p USING (person_id)
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
$q$, '{}');

-- Per person and window [first_seen, first_seen + N days), N = 30, 60, 90,
-- 180: orders, revenue and gross profit net of refunds in the window, the
-- refunds, orders refunded within the window, orders without a cost, and
-- whether the window is complete (ends at or before the horizon).
INSERT INTO models.definitions VALUES (9, 'person_value', 'table', $q$
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
    FROM @models.person_firsts p
    JOIN @models.orders o USING (person_id)
    GROUP BY p.person_id
), refund_sums AS (
    SELECT p.person_id,
           sum(r.amount) FILTER (WHERE r.occurred_at < p.first_seen + interval '30 days') AS refunds_30d,
           sum(r.amount) FILTER (WHERE r.occurred_at < p.first_seen + interval '60 days') AS refunds_60d,
           sum(r.amount) FILTER (WHERE r.occurred_at < p.first_seen + interval '90 days') AS refunds_90d,
           sum(r.amount) FILTER (WHERE r.occurred_at < p.first_seen + interval '180 days') AS refunds_180d
    FROM @models.person_firsts p
    JOIN @models.refunds r USING (person_id)
    WHERE r.occurred_at >= p.first_seen
    GROUP BY p.person_id
), refunded_orders AS (
    -- An order placed in the window and refunded (at least partly) in it.
    SELECT p.person_id,
           count(DISTINCT o.order_id) FILTER (WHERE first_refund.at < p.first_seen + interval '30 days') AS refunded_30d,
           count(DISTINCT o.order_id) FILTER (WHERE first_refund.at < p.first_seen + interval '60 days') AS refunded_60d,
           count(DISTINCT o.order_id) FILTER (WHERE first_refund.at < p.first_seen + interval '90 days') AS refunded_90d,
           count(DISTINCT o.order_id) FILTER (WHERE first_refund.at < p.first_seen + interval '180 days') AS refunded_180d
    FROM @models.person_firsts p
    JOIN @models.orders o USING (person_id)
    CROSS JOIN LATERAL (SELECT min(r.occurred_at) AS at FROM @models.refunds r
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
FROM @models.person_firsts p
CROSS JOIN @models.horizon h
LEFT JOIN order_sums o USING (person_id)
LEFT JOIN refund_sums r USING (person_id)
LEFT JOIN refunded_orders ro USING (person_id)
$q$, ARRAY['CREATE UNIQUE INDEX ON @models.person_value (person_id)']::text[]);

-- Per cohort: everyone ('all'), those who did a micro-conversion in their
-- first 7 days, a first-touch channel, a first-seen month (UTC). Averages
-- and rates use complete windows only.
INSERT INTO models.definitions VALUES (10, 'cohort_ltv', 'table', $q$
WITH members AS (
    SELECT 'all'::text AS cohort_kind, 'all'::text AS cohort, person_id FROM @models.person_firsts
    UNION ALL
    SELECT 'micro_conversion', event_name, person_id FROM @models.early_conversions
    UNION ALL
    SELECT 'channel', channel, person_id FROM @models.person_firsts
    UNION ALL
    SELECT 'first_seen_month', to_char(first_seen AT TIME ZONE 'UTC', 'YYYY-MM'), person_id
    FROM @models.person_firsts
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
JOIN @models.person_value v USING (person_id)
GROUP BY m.cohort_kind, m.cohort
$q$, ARRAY['CREATE UNIQUE INDEX ON @models.cohort_ltv (cohort_kind, cohort)']::text[]);

-- Per micro-conversion X, among persons with a complete 90-day window: the
-- mean 90-day gross profit of those who did X in their first 7 days and of
-- those who did not, the difference (uplift) with its 95% Welch interval,
-- the relative uplift and the value class; and the expected revenue of one
-- occurrence of X.
INSERT INTO models.definitions VALUES (11, 'event_value', 'table', $q$
WITH population AS (
    SELECT person_id, gross_profit_90d AS profit FROM @models.person_value WHERE complete_90d
), totals AS (
    SELECT count(*) AS n, coalesce(sum(profit), 0) AS s, coalesce(sum(profit * profit), 0) AS ss
    FROM population
), names AS (
    SELECT DISTINCT event_name FROM @models.occurrences
    WHERE event_name NOT IN ('order_completed', 'refund_issued')
), did AS (
    SELECT e.event_name, count(*) AS n, sum(p.profit) AS s, sum(p.profit * p.profit) AS ss
    FROM @models.early_conversions e
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
           models.sample_variance(n1, s1, ss1) AS var1,
           models.sample_variance(n0, s0, ss0) AS var0
    FROM sides
), welch AS (
    SELECT moments.*, mean1 - mean0 AS uplift,
           models.welch_margin(var1, n1, var0, n0) AS margin
    FROM moments
), interval95 AS (
    SELECT welch.*,
           uplift - margin AS uplift_low,
           uplift + margin AS uplift_high,
           uplift / nullif(mean_all, 0) AS relative_uplift
    FROM welch
), occurrence_value AS (
    SELECT o.event_name, count(*) AS occurrences_complete_30d,
           count(*) FILTER (WHERE buyer.person_id IS NOT NULL AND EXISTS (
               SELECT 1 FROM @models.orders od
               WHERE od.person_id = o.person_id AND od.occurred_at >= o.occurred_at
                 AND od.occurred_at < o.occurred_at + interval '30 days')) AS followed_by_order
    FROM @models.occurrences o
    LEFT JOIN (SELECT DISTINCT person_id FROM @models.orders) buyer USING (person_id)
    CROSS JOIN @models.horizon h
    WHERE o.occurred_at + interval '30 days' <= h.horizon
      AND o.event_name NOT IN ('order_completed', 'refund_issued')
    GROUP BY o.event_name
), order_mean AS (
    SELECT avg(revenue) AS mean_order_revenue FROM @models.orders
), classified AS (
    SELECT i.*,
           CASE
               WHEN n1 < (SELECT min_persons_per_side FROM models.settings)
                 OR n0 < (SELECT min_persons_per_side FROM models.settings) THEN 'unclassified'
               WHEN uplift_low <= 0 THEN 'P3'
               WHEN relative_uplift >= (SELECT min_relative_uplift FROM models.value_class_thresholds WHERE value_class = 'P0') THEN 'P0'
               WHEN relative_uplift >= (SELECT min_relative_uplift FROM models.value_class_thresholds WHERE value_class = 'P1') THEN 'P1'
               WHEN relative_uplift >= (SELECT min_relative_uplift FROM models.value_class_thresholds WHERE value_class = 'P2') THEN 'P2'
               ELSE 'P3'
           END AS value_class
    FROM interval95 i
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
LEFT JOIN models.contract_latest contract USING (event_name)
$q$, ARRAY['CREATE UNIQUE INDEX ON @models.event_value (event_name)']::text[]);

-- Funnels: a person reaches step 1 at their first event of step 1, and step
-- k at their first event of step k at or after reaching step k - 1.
INSERT INTO models.definitions VALUES (12, 'funnel_progress', 'table', $q$
WITH RECURSIVE reached AS (
    SELECT s.funnel, s.step, pe.person_id, min(pe.occurred_at) AS reached_at
    FROM models.funnel_steps s
    JOIN @models.person_events pe ON pe.event_name = s.event_name
    WHERE s.step = 1
    GROUP BY s.funnel, s.step, pe.person_id
    UNION ALL
    SELECT r.funnel, s.step, r.person_id, next_event.at
    FROM reached r
    JOIN models.funnel_steps s ON s.funnel = r.funnel AND s.step = r.step + 1
    CROSS JOIN LATERAL (SELECT min(pe.occurred_at) AS at FROM @models.person_events pe
                        WHERE pe.person_id = r.person_id AND pe.event_name = s.event_name
                          AND pe.occurred_at >= r.reached_at) next_event
    WHERE next_event.at IS NOT NULL
)
SELECT funnel, step, person_id, reached_at FROM reached
$q$, ARRAY['CREATE UNIQUE INDEX ON @models.funnel_progress (funnel, person_id, step)']::text[]);

-- Per funnel and step, for everyone and split by device type and by channel
-- (both first-touch): persons reaching the step, the rate from the previous
-- step and from the first, and the median time to the next step of those
-- who reach it.
INSERT INTO models.definitions VALUES (13, 'funnel', 'table', $q$
WITH progress AS (
    SELECT f.funnel, f.step, f.person_id, f.reached_at,
           next_step.reached_at - f.reached_at AS time_to_next,
           p.device_type, p.channel
    FROM @models.funnel_progress f
    JOIN @models.person_firsts p USING (person_id)
    LEFT JOIN @models.funnel_progress next_step
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
WINDOW w AS (PARTITION BY st.funnel, st.dimension, st.segment ORDER BY st.step)
$q$, ARRAY['CREATE UNIQUE INDEX ON @models.funnel (funnel, dimension, segment, step)']::text[]);

-- Traffic quality per first-touch channel and per landing page.
INSERT INTO models.definitions VALUES (14, 'traffic_quality', 'table', $q$
WITH valuable AS (
    SELECT DISTINCT e.person_id
    FROM @models.early_conversions e
    JOIN @models.event_value v USING (event_name)
    WHERE v.value_class IN ('P0', 'P1', 'P2')
), persons AS (
    SELECT p.person_id, p.channel, p.landing_page, v.*,
           p.first_seen + interval '7 days' <= h.horizon AS complete_7d,
           x.person_id IS NOT NULL AS reached_valuable
    FROM @models.person_firsts p
    JOIN @models.person_value v USING (person_id)
    CROSS JOIN @models.horizon h
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
GROUP BY GROUPING SETS ((channel), (landing_page))
$q$, ARRAY['CREATE UNIQUE INDEX ON @models.traffic_quality (dimension, segment)']::text[]);

-- Experiments: each person's first exposure (experiment_viewed) per
-- experiment decides the variant; persons whose 60 days after exposure are
-- complete are compared with the control variant.
INSERT INTO models.definitions VALUES (15, 'experiment_guardrails', 'table', $q$
WITH exposures AS (
    SELECT DISTINCT ON (pe.person_id, e.properties ->> 'experiment_id')
           pe.person_id, e.properties ->> 'experiment_id' AS experiment_id,
           e.properties ->> 'variant' AS variant, e.occurred_at AS exposed_at
    FROM events e
    JOIN @models.person_events pe USING (event_id)
    WHERE e.event_name = 'experiment_viewed'
    ORDER BY pe.person_id, e.properties ->> 'experiment_id', e.occurred_at, e.event_id
), per_person AS (
    SELECT x.experiment_id, x.variant, x.person_id,
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
           models.sample_variance(persons, s, ss) AS profit_variance,
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
           models.welch_margin(r.profit_variance, r.persons, c.profit_variance, c.persons)
               AS profit_margin,
           c.persons AS control_persons
    FROM rates r
    LEFT JOIN rates c ON c.experiment_id = r.experiment_id AND c.is_control
), judged AS (
    SELECT compared.*,
           profit_change + profit_margin AS profit_change_high,
           profit_change - profit_margin AS profit_change_low
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
           WHEN j.persons < (SELECT min_persons_per_side FROM models.settings)
                OR j.control_persons < (SELECT min_persons_per_side FROM models.settings)
               THEN 'insufficient_data'
           WHEN j.conversion_lift > 0
                AND (j.repeat_rate_z < -1.959963984540054 OR j.profit_change_high < 0) THEN 'regression'
           ELSE 'no_regression'
       END AS verdict
FROM judged j
$q$, ARRAY['CREATE UNIQUE INDEX ON @models.experiment_guardrails (experiment_id, variant)']::text[]);

-- Tracking health per event name and UTC day of receipt. Browser copies of
-- server-only events (refused as source_not_allowed while the server copy is
-- stored) are expected and are not counted as rejections.
INSERT INTO models.definitions VALUES (16, 'tracking_health', 'table', $q$
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
                    AND t.events < (1 - (SELECT alert_volume_drop FROM models.settings)) * t.trailing_7d_mean,
                false)
           OR coalesce(t.rejected::numeric / nullif(t.events + t.rejected, 0)
                           > (SELECT alert_rejection_rate FROM models.settings), false)
           AS alert
FROM with_trailing t
$q$, ARRAY['CREATE UNIQUE INDEX ON @models.tracking_health (event_name, day)']::text[]);

-- Which buffer the views in `models` show.
CREATE TABLE models.state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    current   text    NOT NULL CHECK (current IN ('models_a', 'models_b')),
    refreshed_at timestamptz
);
INSERT INTO models.state (current) VALUES ('models_a');

-- Builds one model in a buffer: a view (re)defined, or a table made anew
-- from its query (CREATE TABLE AS may use parallel workers, INSERT may not)
-- with its indexes and statistics. Dropping a table waits for readers still
-- on it; views of the buffer that read it go with it and are made again in
-- their turn.
CREATE FUNCTION models.build_model(buffer text, model text, with_data boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    item models.definitions;
    index_sql text;
    definition text;
BEGIN
    SELECT * INTO item FROM models.definitions d WHERE d.model = build_model.model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'models.%: not a model (see models.definitions)', model;
    END IF;
    definition := replace(item.query, '@models', buffer);
    IF item.kind = 'view' THEN
        EXECUTE format('CREATE OR REPLACE VIEW %I.%I AS ', buffer, model) || definition;
        RETURN;
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS %I.%I CASCADE', buffer, model);
    EXECUTE format('CREATE UNLOGGED TABLE %I.%I AS ', buffer, model) || definition
            || CASE WHEN with_data THEN '' ELSE ' WITH NO DATA' END;
    FOREACH index_sql IN ARRAY item.indexes LOOP
        EXECUTE replace(index_sql, '@models', buffer);
    END LOOP;
    -- The next models' plans depend on these rows' statistics.
    IF with_data THEN
        EXECUTE format('ANALYZE %I.%I', buffer, model);
    END IF;
END;
$$;

-- Both buffers, empty, and the views in `models` over models_a.
DO $$
DECLARE
    item record;
    buffer text;
BEGIN
    FOREACH buffer IN ARRAY ARRAY['models_a', 'models_b'] LOOP
        FOR item IN SELECT model FROM models.definitions ORDER BY position LOOP
            PERFORM models.build_model(buffer, item.model, false);
        END LOOP;
    END LOOP;
    FOR item IN SELECT model FROM models.definitions ORDER BY position LOOP
        EXECUTE format('CREATE VIEW models.%I AS SELECT * FROM models_a.%I', item.model, item.model);
    END LOOP;
END
$$;

CREATE VIEW models.channel_quality AS
SELECT segment AS channel, persons, first_order_rate_30d, gross_profit_per_person_90d,
       repeat_rate_90d, valuable_micro_conversion_share
FROM models.traffic_quality WHERE dimension = 'channel';

CREATE VIEW models.landing_page_quality AS
SELECT segment AS landing_page, persons, first_order_rate_30d, gross_profit_per_person_90d,
       repeat_rate_90d, valuable_micro_conversion_share
FROM models.traffic_quality WHERE dimension = 'landing_page';

-- A refresh, in three steps so that callers can time each model:
-- refresh_begin() takes the refresh lock and returns the buffer to build,
-- refresh_model() fills one model there, refresh_finish() points the views
-- in `models` at it. All in the caller's transaction: until it commits,
-- readers see the other buffer, and nothing they read is ever locked by the
-- refresh except for the moment the views are switched.
CREATE FUNCTION models.refresh_begin() RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('funnelhouse.models.refresh'));
    PERFORM set_config('work_mem', (SELECT refresh_work_mem FROM models.settings), true);
    RETURN (SELECT CASE current WHEN 'models_a' THEN 'models_b' ELSE 'models_a' END FROM models.state);
END;
$$;

CREATE FUNCTION models.refresh_model(buffer text, model text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF buffer NOT IN ('models_a', 'models_b') THEN
        RAISE EXCEPTION 'no such buffer: %', buffer;
    END IF;
    IF buffer = (SELECT current FROM models.state) THEN
        RAISE EXCEPTION 'the views in models read %: rebuild the other buffer (models.refresh_begin())', buffer;
    END IF;
    PERFORM models.build_model(buffer, model, true);
END;
$$;

CREATE FUNCTION models.refresh_finish(buffer text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    item record;
BEGIN
    FOR item IN SELECT model FROM models.definitions ORDER BY position LOOP
        EXECUTE format('CREATE OR REPLACE VIEW models.%I AS SELECT * FROM %I.%I', item.model, buffer, item.model);
    END LOOP;
    UPDATE models.state SET current = buffer, refreshed_at = now();
END;
$$;

-- Refreshes every model in one transaction (the caller's). Two refreshes
-- never run at once: the second waits.
CREATE FUNCTION models.refresh() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    buffer text := models.refresh_begin();
    item record;
BEGIN
    FOR item IN SELECT model FROM models.definitions ORDER BY position LOOP
        PERFORM models.refresh_model(buffer, item.model);
    END LOOP;
    PERFORM models.refresh_finish(buffer);
END;
$$;
