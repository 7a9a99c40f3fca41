-- Valid events: one row per distinct event id. A second copy of an id that is
-- already stored never adds a row (the loader inserts with ON CONFLICT DO
-- NOTHING), so browser and server copies of one event count once.
CREATE TABLE events (
    event_id           text        PRIMARY KEY,
    event_name         text        NOT NULL,
    event_type         text        NOT NULL,   -- track, page, identify
    schema_version     text        NOT NULL,   -- SchemaVer of the contract it passed, e.g. 1-0-0
    anonymous_id       text,
    user_id            text,
    occurred_at        timestamptz NOT NULL,   -- skew-corrected: receivedAt - (sentAt - originalTimestamp)
    original_timestamp timestamptz,            -- the sender's own clock
    sent_at            timestamptz,
    received_at        timestamptz NOT NULL,
    loaded_at          timestamptz NOT NULL DEFAULT now(),
    properties         jsonb       NOT NULL,   -- properties (track, page) or traits (identify)
    context            jsonb       NOT NULL,
    write_key_name     text        NOT NULL,
    source             text        NOT NULL CHECK (source IN ('browser', 'server'))
);

CREATE INDEX events_name_occurred_idx ON events (event_name, occurred_at);
CREATE INDEX events_occurred_idx ON events (occurred_at);
CREATE INDEX events_user_idx ON events (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX events_anonymous_idx ON events (anonymous_id) WHERE anonymous_id IS NOT NULL;

-- Rejected events: one row per rejected event (never per request), stored
-- exactly as received so nothing that arrived is lost. `funnelhouse
-- reprocess` re-validates rows whose reprocessed_at is NULL and, when one now
-- passes, loads it and sets reprocessed_at in the same transaction.
CREATE TABLE bad_events (
    bad_event_id       uuid        PRIMARY KEY, -- derived from key name, route, index and bytes: a retry maps to the same row
    event_id           text,                   -- the messageId, when one could be read
    event_name         text,
    raw_event          text        NOT NULL,   -- the message's bytes exactly as received, less a top-level writeKey
    errors             jsonb       NOT NULL,   -- [{"path": "/properties/price", "message": "..."}]
    reason             text        NOT NULL,   -- invalid_message, unsupported_type, unknown_event, unknown_schema_version, source_not_allowed, schema_violation
    route              text        NOT NULL,   -- /v1/batch, /v1/track, ...
    write_key_name     text        NOT NULL,
    source             text        NOT NULL CHECK (source IN ('browser', 'server')),
    received_at        timestamptz NOT NULL,
    batch_sent_at      timestamptz,            -- sentAt of the enclosing batch, for skew correction on reprocess
    loaded_at          timestamptz NOT NULL DEFAULT now(),
    reprocessed_at     timestamptz             -- set when a later reprocess loaded it into events
);

CREATE INDEX bad_events_received_idx ON bad_events (received_at);
CREATE INDEX bad_events_pending_idx ON bad_events (received_at) WHERE reprocessed_at IS NULL;
