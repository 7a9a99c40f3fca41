-- Identity stitching: which person each anonymous id and user id belongs to.
--
-- Links come from identify calls and any event carrying both ids (an
-- anonymous id and a user id), and from alias calls (previous id and user id).
-- A person is a connected component of links, with one rule: two different
-- user ids are never merged through a shared anonymous id (a shared computer,
-- a support agent logged in as a customer). Such a link is refused and
-- recorded in identity_conflicts. An alias whose previous id is a known user
-- id is an explicit statement and merges the two users; an alias from an
-- anonymous id follows the same rule as identify.
--
-- The loader keeps these tables current in the same transaction that stores
-- the events, so stitching has no lag.

CREATE TABLE identity_links (
    anonymous_id    text        NOT NULL,  -- for alias links: the previous id
    user_id         text        NOT NULL,
    link_kind       text        NOT NULL CHECK (link_kind IN ('identify', 'alias', 'event')),
    first_linked_at timestamptz NOT NULL,  -- occurred_at of the first event that made the link
    first_event_id  text        NOT NULL,
    PRIMARY KEY (anonymous_id, user_id)
);
CREATE INDEX identity_links_user_idx ON identity_links (user_id);

-- Every id seen, with its person. person_id is 'user:<user_id>' for a person
-- with a user id, 'anonymous:<anonymous_id>' for one without: it changes to
-- the user's when an anonymous person logs in.
CREATE TABLE identity_map (
    id        text NOT NULL,
    id_type   text NOT NULL CHECK (id_type IN ('anonymous', 'user')),
    person_id text NOT NULL,
    PRIMARY KEY (id_type, id)
);
CREATE INDEX identity_map_person_idx ON identity_map (person_id);

-- Logins per device, for the shared-device rule in events_stitched.
CREATE INDEX events_login_idx ON events (anonymous_id, occurred_at) WHERE user_id IS NOT NULL;

CREATE TABLE identity_conflicts (
    anonymous_id    text        NOT NULL,
    kept_user_id    text        NOT NULL,  -- the user the anonymous id stays with
    refused_user_id text        NOT NULL,  -- the user it was not merged with
    event_id        text        NOT NULL,  -- the event that asked for the merge
    detected_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (anonymous_id, refused_user_id)
);

-- Applies one link. Called by the loader for links it has not seen before,
-- in order of occurred_at, under a transaction-level advisory lock so that
-- concurrent loaders do not interleave merges.
CREATE FUNCTION funnelhouse_link(p_anonymous_id text, p_user_id text, p_kind text,
                                 p_at timestamptz, p_event_id text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    user_person text;
    anonymous_person text;
    previous_user_person text;
    kept_user text;
BEGIN
    INSERT INTO identity_links (anonymous_id, user_id, link_kind, first_linked_at, first_event_id)
    VALUES (p_anonymous_id, p_user_id, p_kind, p_at, p_event_id)
    ON CONFLICT (anonymous_id, user_id) DO NOTHING;

    INSERT INTO identity_map (id, id_type, person_id) VALUES (p_user_id, 'user', 'user:' || p_user_id)
    ON CONFLICT (id_type, id) DO NOTHING;
    SELECT person_id INTO user_person FROM identity_map WHERE id_type = 'user' AND id = p_user_id;

    -- An alias from an earlier user id merges the two users' persons.
    IF p_kind = 'alias' THEN
        SELECT person_id INTO previous_user_person FROM identity_map
        WHERE id_type = 'user' AND id = p_anonymous_id;
        IF previous_user_person IS NOT NULL THEN
            IF previous_user_person <> user_person THEN
                UPDATE identity_map SET person_id = user_person WHERE person_id = previous_user_person;
            END IF;
            RETURN;
        END IF;
    END IF;

    INSERT INTO identity_map (id, id_type, person_id) VALUES (p_anonymous_id, 'anonymous', user_person)
    ON CONFLICT (id_type, id) DO NOTHING;
    SELECT person_id INTO anonymous_person FROM identity_map
    WHERE id_type = 'anonymous' AND id = p_anonymous_id;
    IF anonymous_person = user_person THEN
        RETURN;
    END IF;

    SELECT id INTO kept_user FROM identity_map
    WHERE person_id = anonymous_person AND id_type = 'user' ORDER BY id LIMIT 1;
    IF kept_user IS NULL THEN
        -- An anonymous person logs in: all its ids join the user.
        UPDATE identity_map SET person_id = user_person WHERE person_id = anonymous_person;
    ELSE
        -- The anonymous id already belongs to another user: refuse, and say so.
        INSERT INTO identity_conflicts (anonymous_id, kept_user_id, refused_user_id, event_id)
        VALUES (p_anonymous_id, kept_user, p_user_id, p_event_id)
        ON CONFLICT (anonymous_id, refused_user_id) DO NOTHING;
    END IF;
END;
$$;

-- Every event with its person. Stitching is retroactive: events stored
-- before a login get the person through identity_map, without rewriting
-- events. On a shared device (an anonymous id with a conflict) an anonymous
-- event goes to the user who identified on it most recently before the event,
-- or to the first one for events before any login.
CREATE VIEW events_stitched AS
SELECT e.*,
       coalesce(user_map.person_id, 'user:' || e.user_id, shared_device.person_id,
                anonymous_map.person_id, 'anonymous:' || e.anonymous_id) AS person_id
FROM events e
LEFT JOIN identity_map user_map ON user_map.id_type = 'user' AND user_map.id = e.user_id
LEFT JOIN LATERAL (
    SELECT m.person_id
    FROM events login
    JOIN identity_map m ON m.id_type = 'user' AND m.id = login.user_id
    WHERE e.user_id IS NULL
      AND login.anonymous_id = e.anonymous_id AND login.user_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM identity_conflicts c WHERE c.anonymous_id = e.anonymous_id)
    ORDER BY (login.occurred_at <= e.occurred_at) DESC,
             CASE WHEN login.occurred_at <= e.occurred_at THEN login.occurred_at END DESC,
             login.occurred_at
    LIMIT 1
) shared_device ON true
LEFT JOIN identity_map anonymous_map
       ON anonymous_map.id_type = 'anonymous' AND anonymous_map.id = e.anonymous_id;

-- One row per person: when first and last seen, its user ids, and the latest
-- non-null value of each trait sent with identify.
CREATE VIEW persons AS
WITH stitched AS (
    SELECT person_id, occurred_at, user_id, event_name, properties FROM events_stitched
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

-- Events stored before this migration: map their ids and replay their links
-- in the order they happened, as the loader would have.
INSERT INTO identity_map (id, id_type, person_id)
SELECT DISTINCT id, id_type, id_type || ':' || id
FROM (SELECT user_id AS id, 'user' AS id_type FROM events WHERE user_id IS NOT NULL
      UNION ALL
      SELECT anonymous_id, 'anonymous' FROM events WHERE anonymous_id IS NOT NULL) ids
ON CONFLICT (id_type, id) DO NOTHING;

DO $$
DECLARE
    link record;
BEGIN
    FOR link IN
        SELECT anonymous_id, user_id, kind, occurred_at, event_id FROM (
            SELECT anonymous_id, user_id,
                   CASE WHEN event_type = 'identify' THEN 'identify' ELSE 'event' END AS kind,
                   occurred_at, event_id
            FROM events WHERE anonymous_id IS NOT NULL AND user_id IS NOT NULL
                          AND event_type <> 'alias'
            UNION ALL
            SELECT previous_id, user_id, 'alias', occurred_at, event_id
            FROM events WHERE event_type = 'alias' AND previous_id IS NOT NULL AND user_id IS NOT NULL
        ) links
        ORDER BY occurred_at, event_id
    LOOP
        PERFORM funnelhouse_link(link.anonymous_id, link.user_id, link.kind, link.occurred_at,
                                 link.event_id);
    END LOOP;
END
$$;
