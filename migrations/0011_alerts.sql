-- Alerts (docs/alerts.md): the funnel stage each contract declares, the
-- settings of the rate rule, and alerts with a lifecycle. A refresh builds
-- models.alert_candidates, what is wrong on the latest complete day, and
-- hands its rows to the function below, which turns them into alerts (one
-- per problem: raised once, kept open while it lasts, resolved once) and
-- enqueues a notice of each change for the destinations that take alerts,
-- in the refresh's transaction.

ALTER TABLE models.contracts
    ADD COLUMN funnel_stage text
    CHECK (funnel_stage IN ('awareness', 'consideration', 'intent', 'purchase', 'retention'));

CREATE OR REPLACE VIEW models.contract_latest AS
SELECT DISTINCT ON (event_name) event_name, version, value_class, frequency, sources, funnel_stage
FROM models.contracts
ORDER BY event_name, split_part(version, '-', 1)::int DESC, split_part(version, '-', 2)::int DESC,
         split_part(version, '-', 3)::int DESC;

-- The rate rule: a micro-conversion's rate on a complete day at least
-- alert_rate_drop below the mean of the 7 days before, on days with at
-- least alert_min_sessions sessions (and as many on average before). The
-- volume rule raises an alert only for an event with a 7-day mean of at
-- least alert_min_events a day; alert_silence without any event stored
-- raises one for all traffic.
ALTER TABLE models.settings
    ADD COLUMN alert_rate_drop numeric NOT NULL DEFAULT 0.2
        CHECK (alert_rate_drop > 0 AND alert_rate_drop <= 1),
    ADD COLUMN alert_min_sessions integer NOT NULL DEFAULT 200 CHECK (alert_min_sessions >= 1),
    ADD COLUMN alert_min_events integer NOT NULL DEFAULT 20 CHECK (alert_min_events >= 1),
    -- no event stored for this long (by the clock, not the data) is an alert
    ADD COLUMN alert_silence interval NOT NULL DEFAULT '6 hours' CHECK (alert_silence > '0');

-- Per event, when one needs another drop or another minimum than the rest.
CREATE TABLE models.alert_thresholds (
    event_name   text PRIMARY KEY,
    rate_drop    numeric CHECK (rate_drop > 0 AND rate_drop <= 1),
    min_sessions integer CHECK (min_sessions >= 1)
);
GRANT SELECT ON models.alert_thresholds TO funnelhouse_models, funnelhouse_server;
GRANT SELECT ON models.alert_thresholds TO funnelhouse_analyst;

-- One row per problem: an event (its rate, volume or rejections) or a
-- funnel stage without events. Open while the latest complete day still
-- shows it; at most one open alert per subject.
CREATE TABLE alerts (
    alert_id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_type text        NOT NULL CHECK (subject_type IN ('event', 'stage', 'traffic')),
    subject      text        NOT NULL,  -- the event name, the stage, or 'all events'
    state        text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
    rules        text[]      NOT NULL,  -- rate_drop, volume_drop, rejection_rate, stage_silent, silence
    since        date        NOT NULL,  -- the day it was first seen
    last_day     date        NOT NULL,  -- the latest day it was seen
    cause        text        NOT NULL,  -- the likely cause's kind (docs/alerts.md)
    likely_cause text        NOT NULL,  -- said in words
    summary      text        NOT NULL,
    context      jsonb       NOT NULL,  -- the figures, as computed when last seen
    notice_key   uuid        NOT NULL DEFAULT gen_random_uuid(),  -- in its notices' keys
    raised_at    timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz
);
CREATE UNIQUE INDEX alerts_open_idx ON alerts (subject_type, subject) WHERE state = 'open';

-- Alert notices travel through the activation outbox: a destination that
-- takes alerts (a Slack-compatible incoming webhook, or a signed webhook)
-- gets one row per alert and change, keyed 'alert:<id>:raised:<key>' or
-- 'alert:<id>:resolved:<key>', so a notice is never enqueued twice.
ALTER TABLE activation_destinations
    ADD COLUMN alerts boolean NOT NULL DEFAULT false,
    DROP CONSTRAINT activation_destinations_kind_check,
    ADD CONSTRAINT activation_destinations_kind_check
        CHECK (kind IN ('meta', 'google_ads', 'ga4', 'webhook', 'slack'));
ALTER TABLE activation_outbox
    ADD COLUMN alert_id bigint REFERENCES alerts,
    DROP CONSTRAINT activation_outbox_what_check,
    ADD CONSTRAINT activation_outbox_what_check
        CHECK (what IN ('order', 'refund', 'micro', 'alert_raised', 'alert_resolved'));

-- An erased event takes its unsent rows with it, never an alert's notice
-- (whose key no event id can take away).
CREATE OR REPLACE FUNCTION funnelhouse_activation_events_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    DELETE FROM activation_outbox o
    WHERE o.state IN ('pending', 'sending') AND o.alert_id IS NULL
      AND (o.destination, o.event_id) IN (SELECT d.name, g.event_id
                                          FROM activation_destinations d CROSS JOIN gone g);
    RETURN NULL;
END;
$$;

-- The refresh evaluates models.alert_candidates as the models' role and
-- hands the rows over as JSON (so that nothing of the models runs with the
-- rights of this function's owner): raises what is new, keeps what lasts
-- up to date, resolves what is gone, and enqueues the notices. An open
-- alert whose event still fails, now listed under another alert's
-- downstream, stays open. NULL changes nothing.
CREATE FUNCTION funnelhouse_alerts_sync(candidates jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF candidates IS NULL OR jsonb_typeof(candidates) <> 'array' THEN
        RETURN;
    END IF;
    CREATE TEMPORARY TABLE alert_now ON COMMIT DROP AS
    SELECT DISTINCT ON (c.subject_type, c.subject)
           c.subject_type, c.subject, c.rules, c.day, coalesce(c.since, c.day) AS since,
           coalesce(c.cause, 'unknown') AS cause, coalesce(c.likely_cause, '') AS likely_cause,
           coalesce(c.summary, c.subject) AS summary, coalesce(c.context, '{}') AS context
    FROM jsonb_to_recordset(candidates)
         AS c(subject_type text, subject text, rules text[], day date, since date, cause text,
              likely_cause text, summary text, context jsonb)
    WHERE c.subject_type IN ('event', 'stage', 'traffic') AND c.subject IS NOT NULL
      AND c.rules IS NOT NULL AND c.day IS NOT NULL
    ORDER BY c.subject_type, c.subject, c.day DESC;
    CREATE TEMPORARY TABLE alert_still_failing ON COMMIT DROP AS
    SELECT subject_type, subject FROM alert_now
    UNION
    SELECT 'event', d ->> 'event_name'
    FROM alert_now n
    CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(n.context -> 'downstream') = 'array'
                                                 THEN n.context -> 'downstream' ELSE '[]' END) d;
    CREATE TEMPORARY TABLE alert_changes (alert_id bigint, what text) ON COMMIT DROP;
    WITH resolved AS (
        UPDATE alerts a SET state = 'resolved', resolved_at = now(), updated_at = now()
        WHERE a.state = 'open'
          AND NOT EXISTS (SELECT 1 FROM alert_still_failing f
                          WHERE f.subject_type = a.subject_type AND f.subject = a.subject)
        RETURNING a.alert_id
    ), kept AS (
        UPDATE alerts a
        SET rules = c.rules, last_day = greatest(a.last_day, c.day), cause = c.cause,
            likely_cause = c.likely_cause, summary = c.summary, context = c.context,
            updated_at = now()
        FROM alert_now c
        WHERE a.state = 'open' AND c.subject_type = a.subject_type AND c.subject = a.subject
        RETURNING a.alert_id
    ), raised AS (
        INSERT INTO alerts (subject_type, subject, rules, since, last_day, cause, likely_cause,
                            summary, context)
        SELECT c.subject_type, c.subject, c.rules, c.since, c.day, c.cause, c.likely_cause,
               c.summary, c.context
        FROM alert_now c
        WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.state = 'open'
                          AND a.subject_type = c.subject_type AND a.subject = c.subject)
        RETURNING alert_id
    )
    INSERT INTO alert_changes
    SELECT alert_id, 'alert_raised' FROM raised
    UNION ALL SELECT alert_id, 'alert_resolved' FROM resolved;
    -- Keyed by the alert, the change and the alert's random key: no event
    -- id a sender chooses can take a notice's place.
    INSERT INTO activation_outbox (destination, event_id, what, event_name, occurred_at, alert_id)
    SELECT d.name,
           'alert:' || a.alert_id || ':' || split_part(ch.what, '_', 2) || ':' || a.notice_key,
           ch.what, a.subject, coalesce(a.resolved_at, a.raised_at), a.alert_id
    FROM alert_changes ch
    JOIN alerts a USING (alert_id)
    CROSS JOIN activation_destinations d
    WHERE d.alerts AND d.removed_at IS NULL
    ORDER BY d.name, a.alert_id
    ON CONFLICT DO NOTHING;
    DROP TABLE alert_now, alert_still_failing, alert_changes;
END;
$$;
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION funnelhouse_alerts_sync(jsonb) SET search_path = %I, pg_temp',
                   current_schema());
    -- replaced above, which reset its settings
    EXECUTE format('ALTER FUNCTION funnelhouse_activation_events_removed() SET search_path = %I, pg_temp',
                   current_schema());
    REVOKE EXECUTE ON FUNCTION funnelhouse_alerts_sync(jsonb) FROM PUBLIC;
END
$$;

-- Notices are deliveries too.
CREATE OR REPLACE VIEW deliveries AS
SELECT o.destination, d.kind, o.event_id, o.event_name, o.what, o.order_id, o.occurred_at,
       o.state, o.attempts, o.enqueued_at, o.next_attempt_at, o.sent_at, o.last_status,
       o.last_error, o.value, o.currency, o.alert_id
FROM activation_outbox o
LEFT JOIN activation_destinations d ON d.name = o.destination;

GRANT SELECT ON alerts TO funnelhouse_server, funnelhouse_analyst;
GRANT EXECUTE ON FUNCTION funnelhouse_alerts_sync(jsonb) TO funnelhouse_server, funnelhouse_models;
