-- The distributed layout, on a Citus coordinator (docs/scaling.md, "Citus").
-- `funnelhouse migrate` applies it after the regular migrations when the
-- database has the citus extension.

-- The coordinator reaches the workers as the role that runs the query, so
-- the roles the server and the refresh switch to (SET ROLE) must be able to
-- log in there. Without a password: where the workers ask for one, no one
-- logs in as them directly; give the coordinator theirs in
-- pg_dist_authinfo, or let the workers trust the coordinator's address
-- (docs/operations.md, "Citus").
ALTER ROLE funnelhouse_server LOGIN;
ALTER ROLE funnelhouse_analyst LOGIN;
ALTER ROLE funnelhouse_models LOGIN;

-- Funnelhouse writes through the coordinator only. Saying so spares each
-- write to a reference table a lock taken on the first worker, which Citus
-- grants only to roles that may also update or delete the table (the
-- server may only insert links).
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET citus.allow_modifications_from_workers_to_replicated_tables = off',
                   current_database());
END
$$;

-- A trigger on a distributed table would fire on the workers' shards, away
-- from the tables it changes. Dropped here: the loader's memory of known
-- ids, which the identity triggers kept right, is off on Citus, and
-- `serve` refuses a destinations file there, so no outbox row is written
-- for erasure to take away. A later migration that changes what this file
-- replaces (these triggers, events_stitched) needs its own file here too.
DROP TRIGGER events_removed_from_outbox ON events;
DROP TRIGGER identity_map_removed ON identity_map;
DROP TRIGGER identity_links_removed ON identity_links;

-- Events by their id: the primary key holds the distribution column, so each
-- shard decides alone whether an id is new, and both copies of an event meet
-- on one shard. Rejected messages likewise by theirs.
SELECT create_distributed_table('events', 'event_id');
SELECT create_distributed_table('bad_events', 'bad_event_id');

-- Identity: one row per id or link, small next to the events, and joined to
-- events by ids that are not the events' distribution column. As reference
-- tables (a copy on every node) the joins stay on each shard.
SELECT create_reference_table('identity_map');
SELECT create_reference_table('identity_links');
SELECT create_reference_table('identity_conflicts');

-- The loader's stage for events, co-located with `events`, so that merging
-- a batch's copies into their rows runs on each shard. Every loader stages
-- into it and deletes its rows before its transaction commits: no loader
-- ever sees another's.
CREATE TABLE funnelhouse_events_stage (seq bigint, LIKE events, fate text);
DO $$
DECLARE
    column_name name;
BEGIN
    FOR column_name IN
        SELECT attname FROM pg_attribute
        WHERE attrelid = 'funnelhouse_events_stage'::regclass AND attnum > 0 AND attnotnull
    LOOP
        EXECUTE format('ALTER TABLE funnelhouse_events_stage ALTER COLUMN %I DROP NOT NULL',
                       column_name);
    END LOOP;
END
$$;
SELECT create_distributed_table('funnelhouse_events_stage', 'event_id', colocate_with => 'events');
GRANT SELECT, INSERT, UPDATE, DELETE ON funnelhouse_events_stage TO funnelhouse_server;

-- Stitching, as events_stitched in 0004 says, in a form Citus can plan: the
-- logins on shared devices (anonymous ids with an identity conflict, few)
-- are gathered first, and each anonymous event there takes its person from
-- them by its own id. The rule is the same: the user who logged in on the
-- device most recently before the event, else the first one after it.
CREATE OR REPLACE VIEW events_stitched AS
WITH shared_logins AS MATERIALIZED (
    SELECT login.anonymous_id, login.occurred_at, m.person_id
    FROM events login
    JOIN identity_map m ON m.id_type = 'user' AND m.id = login.user_id
    WHERE login.user_id IS NOT NULL
      AND login.anonymous_id IN (SELECT anonymous_id FROM identity_conflicts)
), shared_device AS (
    SELECT DISTINCT ON (e.event_id) e.event_id, l.person_id
    FROM events e
    JOIN shared_logins l ON l.anonymous_id = e.anonymous_id
    WHERE e.user_id IS NULL
    ORDER BY e.event_id, (l.occurred_at <= e.occurred_at) DESC,
             CASE WHEN l.occurred_at <= e.occurred_at THEN l.occurred_at END DESC,
             l.occurred_at
)
SELECT e.*,
       coalesce(user_map.person_id, 'user:' || e.user_id, shared_device.person_id,
                anonymous_map.person_id, 'anonymous:' || e.anonymous_id) AS person_id
FROM events e
LEFT JOIN identity_map user_map ON user_map.id_type = 'user' AND user_map.id = e.user_id
LEFT JOIN shared_device ON shared_device.event_id = e.event_id
LEFT JOIN identity_map anonymous_map
       ON anonymous_map.id_type = 'anonymous' AND anonymous_map.id = e.anonymous_id;
