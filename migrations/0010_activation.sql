-- Activation: what is sent to ad platforms and webhooks (docs/activation.md).
--
-- The destinations file is written here when `serve` starts: one row per
-- destination, and the events each is sent (orders and refunds by name from
-- the file; micro-conversions by their observed class, rewritten from
-- models.event_value by every refresh). The loader enqueues an event in the
-- transaction that stores its row, so the outbox holds exactly what is
-- committed; the senders work through it.
CREATE TABLE activation_destinations (
    name       text        PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('meta', 'google_ads', 'ga4', 'webhook')),
    starts_at  timestamptz NOT NULL,  -- events that happened before are never enqueued
    consent    text        NOT NULL,  -- the consent category without which nothing is sent
    synced_at  timestamptz NOT NULL DEFAULT now(),
    removed_at timestamptz            -- gone from the file: nothing new is enqueued
);

-- Micro-conversions by class, per destination.
CREATE TABLE activation_classes (
    destination text NOT NULL REFERENCES activation_destinations ON DELETE CASCADE,
    value_class text NOT NULL CHECK (value_class IN ('P0', 'P1', 'P2', 'P3')),
    PRIMARY KEY (destination, value_class)
);

-- The event names each destination is sent, and as what.
CREATE TABLE activation_rules (
    destination text NOT NULL REFERENCES activation_destinations ON DELETE CASCADE,
    event_name  text NOT NULL,
    what        text NOT NULL CHECK (what IN ('order', 'refund', 'micro')),
    PRIMARY KEY (destination, event_name)
);

-- One row per destination and event: a second enqueue of either is a no-op,
-- and so is a second order with the same order_id. A row is pending until
-- a sender claims it ('sending', with next_attempt_at the end of its lease:
-- a sender that died leaves it due again then), and ends sent, failed (the
-- platform refused it, or retries ran out) or skipped (nothing to send:
-- no consent, or nothing the platform could match).
CREATE TABLE activation_outbox (
    destination     text        NOT NULL,
    event_id        text        NOT NULL,
    what            text        NOT NULL CHECK (what IN ('order', 'refund', 'micro')),
    event_name      text        NOT NULL,
    order_id        text,
    occurred_at     timestamptz NOT NULL,
    state           text        NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    enqueued_at     timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    last_status     integer,               -- the platform's HTTP status, when it answered
    last_error      text,                  -- why it was retried, failed or skipped
    value           numeric,               -- what was sent as its value
    currency        text,
    claim_id        uuid,                  -- the claim that holds it: only that one records its outcome
    PRIMARY KEY (destination, event_id)
);

CREATE UNIQUE INDEX activation_outbox_order_idx ON activation_outbox (destination, order_id)
    WHERE what = 'order' AND order_id IS NOT NULL;
CREATE INDEX activation_outbox_due_idx ON activation_outbox (destination, next_attempt_at)
    WHERE state IN ('pending', 'sending');

-- The micro-conversion rules from the classes the models observed. Reads
-- models.event_value by name at run time, so the models stay free to
-- change their columns.
CREATE FUNCTION funnelhouse_activation_rules() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    DELETE FROM activation_rules WHERE what = 'micro';
    IF to_regclass('models.event_value') IS NULL THEN
        RETURN;
    END IF;
    EXECUTE $sql$
        INSERT INTO activation_rules (destination, event_name, what)
        SELECT c.destination, v.event_name, 'micro'
        FROM activation_classes c
        JOIN activation_destinations d ON d.name = c.destination AND d.removed_at IS NULL
        JOIN models.event_value v ON v.value_class = c.value_class
        ON CONFLICT DO NOTHING
    $sql$;
END;
$$;

-- Erasure (or any other delete of events) takes the rows not sent yet with
-- it: nothing is sent for an erased person.
CREATE FUNCTION funnelhouse_activation_events_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    DELETE FROM activation_outbox o
    WHERE o.state IN ('pending', 'sending')
      AND (o.destination, o.event_id) IN (SELECT d.name, g.event_id
                                          FROM activation_destinations d CROSS JOIN gone g);
    RETURN NULL;
END;
$$;

DO $$
DECLARE
    signature text;
BEGIN
    FOREACH signature IN ARRAY ARRAY['funnelhouse_activation_rules()',
                                     'funnelhouse_activation_events_removed()'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', signature,
                       current_schema());
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', signature);
    END LOOP;
END
$$;

CREATE TRIGGER events_removed_from_outbox AFTER DELETE ON events
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION funnelhouse_activation_events_removed();

-- What analysts read: every delivery with its destination's kind.
CREATE VIEW deliveries AS
SELECT o.destination, d.kind, o.event_id, o.event_name, o.what, o.order_id, o.occurred_at,
       o.state, o.attempts, o.enqueued_at, o.next_attempt_at, o.sent_at, o.last_status,
       o.last_error, o.value, o.currency
FROM activation_outbox o
LEFT JOIN activation_destinations d ON d.name = o.destination;

-- The server writes the file's destinations, enqueues, and sends; a
-- refresh (as funnelhouse_models) rewrites the micro-conversion rules.
GRANT SELECT, INSERT, UPDATE ON activation_destinations TO funnelhouse_server;
GRANT SELECT, INSERT, DELETE ON activation_classes TO funnelhouse_server;
GRANT SELECT, INSERT, DELETE ON activation_rules TO funnelhouse_server;
GRANT SELECT, INSERT, UPDATE ON activation_outbox TO funnelhouse_server;
GRANT EXECUTE ON FUNCTION funnelhouse_activation_rules() TO funnelhouse_server, funnelhouse_models;
GRANT SELECT ON activation_destinations, activation_classes, activation_rules, activation_outbox,
                deliveries TO funnelhouse_analyst;
