-- Erasure and database roles (docs/security.md).
--
-- `funnelhouse forget` calls funnelhouse_forget(): it deletes a person's
-- events, rejected messages, identity rows and model rows, records an audit
-- row without personal data, and suppresses the person's identifiers so that
-- later events (also those still in a server's spool) are not stored.

-- One row per erasure: what was done, never whom it was done for.
CREATE TABLE erasures (
    erasure_id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    erased_at             timestamptz NOT NULL DEFAULT now(),
    erased_by             text        NOT NULL DEFAULT current_user,  -- the database role
    given_id_type         text        NOT NULL CHECK (given_id_type IN ('user', 'anonymous')),
    identifiers           integer     NOT NULL DEFAULT 0,  -- ids of the person now suppressed
    events_deleted        bigint      NOT NULL DEFAULT 0,
    bad_events_deleted    bigint      NOT NULL DEFAULT 0,
    identity_rows_deleted bigint      NOT NULL DEFAULT 0,
    model_rows_deleted    bigint      NOT NULL DEFAULT 0
);

-- Identifiers whose events are not stored any more: the SHA-256 (hex) of
-- the id's text, so the list does not hold the ids themselves. The loader
-- drops events and rejected messages whose user, anonymous or previous id
-- hashes to an entry, and counts them (funnelhouse_events_suppressed_total).
CREATE TABLE suppressed_ids (
    id_hash    text   PRIMARY KEY,
    erasure_id bigint NOT NULL REFERENCES erasures
);

-- The identifiers a rejected message names. Its raw text may be anything,
-- so a message that is not a JSON object names none.
CREATE FUNCTION funnelhouse_raw_ids(raw text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    message jsonb;
BEGIN
    BEGIN
        message := raw::jsonb;
    EXCEPTION WHEN OTHERS THEN
        RETURN '{}';
    END;
    IF jsonb_typeof(message) <> 'object' THEN
        RETURN '{}';
    END IF;
    RETURN array_remove(ARRAY[message ->> 'userId', message ->> 'anonymousId',
                              message ->> 'previousId'], NULL);
END;
$$;

-- Erases the person an identifier belongs to (after stitching: every user
-- and anonymous id of that person), in the caller's transaction. Waits for
-- loader batches in flight (they hold the same lock shared).
CREATE FUNCTION funnelhouse_forget(given_id text, given_id_type text) RETURNS erasures
LANGUAGE plpgsql AS $$
DECLARE
    persons text[];
    user_ids text[];
    anonymous_ids text[];
    own_ids text[];  -- the ids that are the person's alone
    gone_events text[];
    item record;
    deleted bigint;
    result erasures;
BEGIN
    IF given_id IS NULL OR given_id = '' THEN
        RAISE EXCEPTION 'an identifier to forget is needed';
    END IF;
    IF given_id_type NOT IN ('user', 'anonymous') THEN
        RAISE EXCEPTION 'id type must be user or anonymous, not %', given_id_type;
    END IF;
    PERFORM pg_advisory_xact_lock(7311402118550211);
    INSERT INTO erasures (given_id_type) VALUES (given_id_type) RETURNING * INTO result;

    -- The person, and every id stitched to it. A device shared with another
    -- user (an anonymous id with an identity conflict) is not the person's
    -- alone: it is neither suppressed nor searched for in rejected messages.
    persons := ARRAY(SELECT DISTINCT person_id FROM identity_map
                     WHERE id = given_id AND id_type = given_id_type)
               || (given_id_type || ':' || given_id);
    user_ids := ARRAY(SELECT id FROM identity_map WHERE person_id = ANY(persons) AND id_type = 'user'
                      UNION SELECT given_id WHERE given_id_type = 'user');
    anonymous_ids := ARRAY(SELECT id FROM identity_map
                           WHERE person_id = ANY(persons) AND id_type = 'anonymous'
                           UNION SELECT given_id WHERE given_id_type = 'anonymous');
    own_ids := user_ids || ARRAY(SELECT unnest(anonymous_ids)
                                 EXCEPT SELECT anonymous_id FROM identity_conflicts);

    -- Events: those events_stitched gives to the person, found through its
    -- ids. On a shared device that is the anonymous events it attributes to
    -- the person; another user's events there stay.
    WITH gone AS (
        DELETE FROM events WHERE event_id IN (
            SELECT event_id FROM events_stitched
            WHERE (user_id = ANY(user_ids) OR anonymous_id = ANY(anonymous_ids)
                   OR previous_id = ANY(user_ids || anonymous_ids))
              AND person_id = ANY(persons))
        RETURNING event_id
    )
    SELECT array_agg(event_id) INTO gone_events FROM gone;
    result.events_deleted := coalesce(cardinality(gone_events), 0);

    DELETE FROM bad_events WHERE funnelhouse_raw_ids(raw_event) && own_ids;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    result.bad_events_deleted := deleted;

    DELETE FROM identity_links WHERE user_id = ANY(user_ids) OR anonymous_id = ANY(own_ids);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    result.identity_rows_deleted := deleted;
    DELETE FROM identity_conflicts
    WHERE kept_user_id = ANY(user_ids) OR refused_user_id = ANY(user_ids);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    result.identity_rows_deleted := result.identity_rows_deleted + deleted;
    DELETE FROM identity_map
    WHERE person_id = ANY(persons) OR (id = given_id AND id_type = given_id_type);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    result.identity_rows_deleted := result.identity_rows_deleted + deleted;

    -- Model rows of the person (by person_id) or of its events (by
    -- event_id), in both buffers. Aggregates over many persons hold no
    -- personal data; the next refresh computes them without this person.
    FOR item IN
        SELECT c.table_schema, c.table_name, c.column_name
        FROM information_schema.columns c
        JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE c.table_schema IN ('models_a', 'models_b') AND t.table_type = 'BASE TABLE'
          AND c.column_name IN ('person_id', 'event_id')
        ORDER BY 1, 2, 3
    LOOP
        EXECUTE format('DELETE FROM %I.%I WHERE %I = ANY($1)', item.table_schema,
                       item.table_name, item.column_name)
        USING CASE item.column_name WHEN 'person_id' THEN persons
                                    ELSE coalesce(gone_events, '{}') END;
        GET DIAGNOSTICS deleted = ROW_COUNT;
        result.model_rows_deleted := result.model_rows_deleted + deleted;
    END LOOP;

    INSERT INTO suppressed_ids (id_hash, erasure_id)
    SELECT encode(sha256(convert_to(id, 'UTF8')), 'hex'), result.erasure_id
    FROM unnest(own_ids) id
    ON CONFLICT (id_hash) DO NOTHING;
    result.identifiers := cardinality(own_ids);

    UPDATE erasures SET identifiers = result.identifiers,
                        events_deleted = result.events_deleted,
                        bad_events_deleted = result.bad_events_deleted,
                        identity_rows_deleted = result.identity_rows_deleted,
                        model_rows_deleted = result.model_rows_deleted
    WHERE erasure_id = result.erasure_id;
    RETURN result;
END;
$$;

-- Aliases are found by their previous id when a person is erased.
CREATE INDEX events_previous_idx ON events (previous_id) WHERE previous_id IS NOT NULL;

-- Events kept without consent have no identifier, so no person: they count
-- in events and tracking health, but belong to no person in the per-person
-- models (else they would all be one).
UPDATE models.definitions
SET query = replace(query, E'FROM events_stitched\n    OFFSET 0',
                    E'FROM events_stitched\n    WHERE person_id IS NOT NULL\n    OFFSET 0')
WHERE model = 'person_events';
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM models.definitions
                   WHERE model = 'person_events' AND query LIKE '%WHERE person_id IS NOT NULL%') THEN
        RAISE EXCEPTION 'person_events: the definition is not the one this migration expects';
    END IF;
END
$$;

CREATE OR REPLACE VIEW persons AS
WITH stitched AS (
    SELECT person_id, occurred_at, user_id, event_name, properties FROM events_stitched
    WHERE person_id IS NOT NULL
), latest_traits AS (
    SELECT person_id, jsonb_object_agg(key, value) AS traits
    FROM (SELECT DISTINCT ON (s.person_id, trait.key) s.person_id, trait.key, trait.value
          FROM stitched s, jsonb_each(s.properties) trait
          WHERE s.event_name = 'identify' AND trait.value <> 'null'::jsonb
          ORDER BY s.person_id, trait.key, s.occurred_at DESC) newest
    GROUP BY person_id
)
SELECT s.person_id,
       min(s.occurred_at) AS first_seen,
       max(s.occurred_at) AS last_seen,
       coalesce(array_agg(DISTINCT s.user_id) FILTER (WHERE s.user_id IS NOT NULL), '{}') AS user_ids,
       coalesce(t.traits, '{}') AS traits
FROM stitched s
LEFT JOIN latest_traits t USING (person_id)
GROUP BY s.person_id, t.traits;

-- refresh_finish runs as the owner from here on: like refresh_model, it
-- takes only a buffer that is not the one the views show.
CREATE OR REPLACE FUNCTION models.refresh_finish(buffer text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    item record;
BEGIN
    IF buffer NOT IN ('models_a', 'models_b') THEN
        RAISE EXCEPTION 'no such buffer: %', buffer;
    END IF;
    IF buffer = (SELECT current FROM models.state) THEN
        RAISE EXCEPTION 'the views in models already read %', buffer;
    END IF;
    FOR item IN SELECT model FROM models.definitions ORDER BY position LOOP
        EXECUTE format('CREATE OR REPLACE VIEW models.%I AS SELECT * FROM %I.%I', item.model, buffer, item.model);
    END LOOP;
    UPDATE models.state SET current = buffer, refreshed_at = now();
END;
$$;

-- Roles. They are cluster-wide: created once, granted per database. Login
-- users are made members (docs/security.md):
--   CREATE ROLE funnelhouse_app LOGIN PASSWORD '...' IN ROLE funnelhouse_server;
--   CREATE ROLE alice LOGIN PASSWORD '...' IN ROLE funnelhouse_analyst;
-- Migrations and `forget` run as the owner of the tables.
DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['funnelhouse_server', 'funnelhouse_analyst'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database's migration made it at the same moment
            END;
        END IF;
    END LOOP;
END
$$;

-- The server (`serve`): loads events and refreshes models. It reads what it
-- must to deduplicate and stitch, and can neither delete nor change history.
GRANT SELECT ON schema_migrations TO funnelhouse_server;
GRANT SELECT, INSERT, UPDATE ON events TO funnelhouse_server;
GRANT SELECT, INSERT ON bad_events TO funnelhouse_server;
GRANT SELECT, INSERT ON identity_links, identity_conflicts TO funnelhouse_server;
GRANT SELECT, INSERT, UPDATE ON identity_map TO funnelhouse_server;
GRANT SELECT ON suppressed_ids TO funnelhouse_server;
GRANT USAGE ON SCHEMA models TO funnelhouse_server;
GRANT SELECT ON models.settings, models.definitions, models.state TO funnelhouse_server;
GRANT SELECT, INSERT, DELETE ON models.contracts TO funnelhouse_server;

-- A refresh rebuilds model tables, which only their owner may do: the
-- refresh functions run as their owner, and only the server may call them.
-- Their search path is fixed so that a caller's temporary tables cannot
-- stand in for the real ones.
DO $$
DECLARE
    signature text;
BEGIN
    FOREACH signature IN ARRAY ARRAY['models.refresh_begin()', 'models.refresh_model(text, text)',
                                     'models.refresh_finish(text)', 'models.refresh()'] LOOP
        EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = %I, pg_temp',
                       signature, current_schema());
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', signature);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO funnelhouse_server', signature);
    END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION funnelhouse_forget(text, text) FROM PUBLIC;

-- Analysts: read-only, on the models and the events they are built from.
-- Model tables are made anew by each refresh; default privileges grant
-- SELECT on the new ones.
GRANT SELECT ON events, bad_events, identity_links, identity_map, identity_conflicts,
                events_stitched, persons TO funnelhouse_analyst;
GRANT USAGE ON SCHEMA models, models_a, models_b TO funnelhouse_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA models, models_a, models_b TO funnelhouse_analyst;
ALTER DEFAULT PRIVILEGES IN SCHEMA models, models_a, models_b
    GRANT SELECT ON TABLES TO funnelhouse_analyst;
