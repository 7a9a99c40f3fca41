-- One event, two copies: the browser sees the click, the backend the order.
-- Both carry the same event id; the row records when each copy arrived.
-- `source` stays the source of the first copy stored.
ALTER TABLE events ADD COLUMN browser_received_at timestamptz;
ALTER TABLE events ADD COLUMN server_received_at timestamptz;

UPDATE events SET browser_received_at = received_at WHERE source = 'browser';
UPDATE events SET server_received_at = received_at WHERE source = 'server';

-- browser, server or both: derived, so it can never disagree with the times.
ALTER TABLE events ADD COLUMN sources text GENERATED ALWAYS AS (
    CASE
        WHEN browser_received_at IS NOT NULL AND server_received_at IS NOT NULL THEN 'both'
        WHEN server_received_at IS NOT NULL THEN 'server'
        ELSE 'browser'
    END) STORED;

-- Browser copies of events only a backend may send (orders, refunds) are
-- refused as source_not_allowed, yet still count as seen by the browser.
CREATE INDEX bad_events_refused_browser_copy_idx ON bad_events (event_id)
    WHERE reason = 'source_not_allowed' AND source = 'browser';

-- Per event name and day: how many events both sources saw, and how many
-- only one did. Events the browser never reported (ad blockers, consent
-- banners, closed tabs) show up as server_only.
CREATE VIEW dedup_coverage AS
SELECT event_name,
       (occurred_at AT TIME ZONE 'UTC')::date AS day,
       count(*) AS events,
       count(*) FILTER (WHERE sources = 'both') AS both_sources,
       count(*) FILTER (WHERE sources = 'browser') AS browser_only,
       count(*) FILTER (WHERE sources = 'server') AS server_only
FROM events
GROUP BY 1, 2;
