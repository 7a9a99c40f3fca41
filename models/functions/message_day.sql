-- The UTC day of a stored message's own timestamp (bad_events.raw_event),
-- NULL when the message or its timestamp cannot be read: rejected copies
-- are counted on the day they happened, like the events that were stored.
-- A timestamp without an offset is read as UTC. Parallel unsafe: catching
-- the error takes a subtransaction, which parallel workers cannot start.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.message_day(raw text) RETURNS date
LANGUAGE plpgsql STABLE PARALLEL UNSAFE SET TimeZone = 'UTC' AS $$
BEGIN
    RETURN ((raw::jsonb ->> 'timestamp')::timestamptz AT TIME ZONE 'UTC')::date;
EXCEPTION WHEN others THEN
    RETURN NULL;
END;
$$;
