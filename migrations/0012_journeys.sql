-- Journeys (docs/analytics.md#paths-to-purchase): the settings of the path
-- models, and the queue of candidate experiments teams fill in, which
-- models.experiment_priorities scores by value.

-- A person's path is what they did in their first path_window_days (or
-- before their first order in them); models.paths groups paths by their
-- first path_max_steps steps and lists the path_top most common among
-- converters and among non-converters, the rest as 'other'.
ALTER TABLE models.settings
    ADD COLUMN path_window_days integer NOT NULL DEFAULT 30 CHECK (path_window_days >= 1),
    ADD COLUMN path_top integer NOT NULL DEFAULT 50 CHECK (path_top >= 1),
    ADD COLUMN path_max_steps integer NOT NULL DEFAULT 5 CHECK (path_max_steps >= 1);

-- Candidate experiments: what to change, the micro-conversion it should
-- raise, by how much (0.1 is +10%), and the team's confidence and ease,
-- each 1 to 10.
CREATE TABLE models.experiment_candidates (
    name          text        PRIMARY KEY CHECK (name <> ''),
    target_event  text        NOT NULL CHECK (target_event <> ''),
    expected_lift numeric     NOT NULL CHECK (expected_lift > 0),
    confidence    integer     NOT NULL CHECK (confidence BETWEEN 1 AND 10),
    ease          integer     NOT NULL CHECK (ease BETWEEN 1 AND 10),
    notes         text,
    added_at      timestamptz NOT NULL DEFAULT now()
);
-- Read-only to the roles here (the dashboard reads as funnelhouse_analyst);
-- whoever keeps the queue is granted writing it by name (docs/analytics.md).
GRANT SELECT ON models.experiment_candidates
    TO funnelhouse_models, funnelhouse_server, funnelhouse_analyst;
