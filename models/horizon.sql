-- The data horizon: the latest occurred_at loaded. Windows that end after it
-- are incomplete.
--
-- grain: one row
-- kind: table
-- index: unique (singleton)
-- reads: person_events
SELECT 1 AS singleton, max(occurred_at) AS horizon, count(*) AS events FROM models.person_events
