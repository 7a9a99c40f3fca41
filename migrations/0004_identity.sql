-- Identity stitching: which person each anonymous id and user id belongs to.
--
-- Links come from identify calls and any event carrying both ids (an
-- anonymous id and a user id), and from alias calls (previous id and user id).
-- A person is a connected component of links, with one rule: two different
-- user ids are never merged through a shared anonymous id (a shared computer,
-- a support agent logged in as a customer). Such a link is refused and
-- recorded in identity_conflicts. An alias is an explicit statement and may
-- merge two users.
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
    IF kept_user IS NULL OR p_kind = 'alias' THEN
        -- An anonymous person logs in (or an alias says so): all its ids join the user.
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
       coalesce(user_map.person_id, shared_device.person_id, anonymous_map.person_id,
                'anonymous:' || e.anonymous_id) AS person_id
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
SELECT s.person_id,
       min(s.occurred_at) AS first_seen,
       max(s.occurred_at) AS last_seen,
       coalesce(array_agg(DISTINCT s.user_id) FILTER (WHERE s.user_id IS NOT NULL), '{}') AS user_ids,
       coalesce((SELECT jsonb_object_agg(t.key, t.value)
                 FROM (SELECT DISTINCT ON (trait.key) trait.key, trait.value
                       FROM events_stitched i, jsonb_each(i.properties) trait
                       WHERE i.person_id = s.person_id AND i.event_name = 'identify'
                         AND trait.value <> 'null'::jsonb
                       ORDER BY trait.key, i.occurred_at DESC) t), '{}') AS traits
FROM events_stitched s
GROUP BY s.person_id;
