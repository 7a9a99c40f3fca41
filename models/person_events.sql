-- Every event of a person with its stitched person and its session: a gap of
-- models.settings.session_timeout or more starts a new session. Events kept
-- without consent have no person and are left out. The UTC day of receipt,
-- the sources and the contract version come along for tracking_by_segment.
--
-- grain: one row per event with a person
-- kind: table
-- distribute: person_id
-- index: (person_id, event_name, occurred_at)
-- reads: (no model)
WITH narrow AS (
    -- Only what the models need, decided before sorting (OFFSET 0 keeps
    -- the planner from carrying whole events through the sort).
    SELECT event_id, person_id, event_name, event_type, occurred_at,
           (received_at AT TIME ZONE 'UTC')::date AS received_day, sources, schema_version,
           context ? 'campaign' OR context ? 'page' OR event_type = 'page' AS has_touch,
           context ? 'userAgent' OR context ? 'device' AS has_device
    FROM events_stitched
    WHERE person_id IS NOT NULL
    OFFSET 0
), marked AS (
    SELECT narrow.*,
           CASE WHEN lag(occurred_at) OVER w IS NULL
                  OR occurred_at - lag(occurred_at) OVER w >= (SELECT session_timeout FROM models.settings)
                THEN 1 ELSE 0 END AS starts_session
    FROM narrow
    WINDOW w AS (PARTITION BY person_id ORDER BY occurred_at, event_id)
)
SELECT event_id, person_id, event_name, event_type, occurred_at,
       received_day, sources, schema_version,
       (sum(starts_session) OVER (PARTITION BY person_id ORDER BY occurred_at, event_id))::integer
           AS session_number,
       has_touch, has_device
FROM marked
