-- Per destination of the destinations file: what it was sent over the range
-- (by when the events happened), with the value sent, and what waits for it
-- now. Deliveries are per destination, not per person: a segment selects
-- none.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.dashboard_deliveries(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (destination text, kind text, removed boolean, sent bigint, failed bigint,
               skipped bigint, retried bigint, value_sent numeric, pending bigint,
               oldest_pending_seconds double precision, last_failure text)
LANGUAGE sql STABLE AS $$
WITH outbox AS (
    SELECT o.*, models.dashboard_in_range((o.occurred_at AT TIME ZONE 'UTC')::date, p_from, p_to)
                AS in_range,
           o.state IN ('pending', 'sending') AS waiting
    FROM activation_outbox o
)
SELECT d.name, d.kind, d.removed_at IS NOT NULL,
       count(*) FILTER (WHERE o.state = 'sent' AND o.in_range),
       count(*) FILTER (WHERE o.state = 'failed' AND o.in_range),
       count(*) FILTER (WHERE o.state = 'skipped' AND o.in_range),
       count(*) FILTER (WHERE o.attempts > 1 AND o.in_range),
       coalesce(sum(o.value) FILTER (WHERE o.state = 'sent' AND o.in_range), 0),
       count(*) FILTER (WHERE o.waiting),
       extract(epoch FROM now() - min(o.enqueued_at) FILTER (WHERE o.waiting))::float8,
       (array_agg(o.last_error ORDER BY o.enqueued_at DESC, o.event_id)
            FILTER (WHERE o.state = 'failed' AND o.in_range))[1]
FROM activation_destinations d
LEFT JOIN outbox o ON o.destination = d.name
WHERE p_dimension = 'all'
GROUP BY d.name, d.kind, d.removed_at
ORDER BY d.name
$$;
