-- The loader remembers which ids identity_map holds and which links
-- identity_links holds, so that an event whose ids are all known costs no
-- identity work (docs/identity.md, "When"). Whatever removes rows from
-- either table (erasure with funnelhouse_forget, a manual DELETE, a
-- TRUNCATE) first moves this sequence on. The loader reads it at the start
-- and at the end of each batch and forgets what it remembered when it moved.
-- A sequence moves at once, whether or not the remover commits: at worst a
-- loader forgets what was still true.
CREATE SEQUENCE identity_generation;
SELECT nextval('identity_generation');  -- last_value counts from here

CREATE FUNCTION funnelhouse_identity_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM nextval('identity_generation');
    RETURN NULL;
END;
$$;

-- Runs as its owner (whoever removes rows needs no right on the sequence),
-- with a fixed search path.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION funnelhouse_identity_removed() SET search_path = %I, pg_temp',
                   current_schema());
END
$$;

CREATE TRIGGER identity_map_removed BEFORE DELETE OR TRUNCATE ON identity_map
    FOR EACH STATEMENT EXECUTE FUNCTION funnelhouse_identity_removed();
CREATE TRIGGER identity_links_removed BEFORE DELETE OR TRUNCATE ON identity_links
    FOR EACH STATEMENT EXECUTE FUNCTION funnelhouse_identity_removed();

GRANT SELECT ON identity_generation TO funnelhouse_server;
