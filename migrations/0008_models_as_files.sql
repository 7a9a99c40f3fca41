-- The models move out of the database into files (models/, one per model or
-- function, docs/analytics.md): a refresh reads them from the server's model
-- folders and builds them as the role funnelhouse_models, which owns every
-- model table, view and function and may read what the models are built
-- from, nothing more. models.definitions and the functions that built from
-- it (0005 to 0007) go; the tables, views and functions they made stay,
-- with their rows, until the next refresh rebuilds them from the files.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'funnelhouse_models') THEN
        BEGIN
            CREATE ROLE funnelhouse_models NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database's migration made it at the same moment
        END;
    END IF;
END
$$;

-- The server refreshes as it (SET ROLE); the owner of the tables, who runs
-- migrations and erasure, hands its objects over to it and deletes a
-- person's model rows as a member of it.
GRANT funnelhouse_models TO funnelhouse_server;
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT funnelhouse_models TO %I', current_user);
    END IF;
END
$$;

-- What the models are built from, read only.
GRANT SELECT ON events, bad_events, identity_links, identity_map, identity_conflicts,
                events_stitched TO funnelhouse_models;
GRANT USAGE ON SCHEMA models TO funnelhouse_models;
GRANT SELECT ON models.settings, models.value_class_thresholds, models.funnel_steps,
                models.experiment_controls, models.contracts, models.contract_latest,
                models.state TO funnelhouse_models;
GRANT UPDATE ON models.state TO funnelhouse_models;
-- Where the models are made: the buffers, and the views and functions in
-- `models` that readers use.
GRANT USAGE, CREATE ON SCHEMA models, models_a, models_b TO funnelhouse_models;

-- Every model table and view, and every model function, changes hands.
DO $$
DECLARE
    item record;
BEGIN
    FOR item IN
        SELECT n.nspname, c.relname, c.relkind
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'v')
          AND (n.nspname IN ('models_a', 'models_b')
               OR (n.nspname = 'models' AND c.relkind = 'v' AND c.relname <> 'contract_latest'))
    LOOP
        EXECUTE format('ALTER %s %I.%I OWNER TO funnelhouse_models',
                       CASE item.relkind WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END,
                       item.nspname, item.relname);
    END LOOP;
    FOR item IN
        SELECT p.oid::regprocedure AS signature
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'models'
          AND p.proname NOT IN ('refresh', 'refresh_begin', 'refresh_model', 'refresh_finish',
                                'build_model')
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO funnelhouse_models', item.signature);
    END LOOP;
END
$$;

-- Tables and views a refresh makes are readable by analysts.
ALTER DEFAULT PRIVILEGES FOR ROLE funnelhouse_models IN SCHEMA models, models_a, models_b
    GRANT SELECT ON TABLES TO funnelhouse_analyst;

-- Erasure deletes a person's rows from model tables that funnelhouse_models
-- owns, and so, through SET ROLE, the server. A trigger, rule or row
-- security policy on such a table would run with the rights of whoever
-- erases: the guard below locks the model tables against new ones (each
-- needs a lock that conflicts with SHARE ROW EXCLUSIVE), and refuses to
-- erase while any is there. The models need none.
ALTER FUNCTION funnelhouse_forget(text, text) RENAME TO funnelhouse_forget_unguarded;

CREATE FUNCTION funnelhouse_forget(given_id text, given_id_type text) RETURNS erasures
LANGUAGE plpgsql AS $$
DECLARE
    item record;
    found text;
BEGIN
    FOR item IN
        SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('models_a', 'models_b') AND c.relkind IN ('r', 'p')
        ORDER BY 1, 2
    LOOP
        EXECUTE format('LOCK TABLE %I.%I IN SHARE ROW EXCLUSIVE MODE', item.nspname, item.relname);
    END LOOP;
    SELECT string_agg(format('%I.%I', n.nspname, c.relname), ', ' ORDER BY 1) INTO found
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname IN ('models_a', 'models_b') AND c.relkind IN ('r', 'p')
      AND (c.relrowsecurity
           OR EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal)
           OR EXISTS (SELECT 1 FROM pg_rewrite r WHERE r.ev_class = c.oid));
    IF found IS NOT NULL THEN
        RAISE EXCEPTION 'erasure refused: % % triggers, rules or row security, which would run with the rights of the one erasing; drop them (the models need none) and erase again',
            found, CASE WHEN strpos(found, ', ') > 0 THEN 'have' ELSE 'has' END;
    END IF;
    RETURN funnelhouse_forget_unguarded(given_id, given_id_type);
END;
$$;
REVOKE EXECUTE ON FUNCTION funnelhouse_forget(text, text) FROM PUBLIC;

DROP FUNCTION models.refresh();
DROP FUNCTION models.refresh_finish(text);
DROP FUNCTION models.refresh_model(text, text);
DROP FUNCTION models.refresh_begin();
DROP FUNCTION models.build_model(text, text, boolean);
DROP TABLE models.definitions;
