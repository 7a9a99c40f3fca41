-- The page's heading: the data's bounds and what the filter selects.
--
-- kind: function
-- reads: dashboard_persons, dashboard_volume, horizon, orders, person_firsts, person_value, tracking_health
CREATE OR REPLACE FUNCTION models.dashboard_overview(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (horizon timestamptz, first_day date, last_day date, refreshed_at timestamptz,
               persons bigint, persons_complete_90d bigint, events bigint, orders bigint)
LANGUAGE sql STABLE AS $$
WITH persons AS (
    SELECT person_id FROM models.dashboard_persons(p_from, p_to, p_dimension, p_segment)
)
SELECT (SELECT horizon FROM models.horizon),
       (SELECT min(day) FROM models.tracking_health),
       (SELECT max(day) FROM models.tracking_health),
       (SELECT refreshed_at FROM models.state),
       CASE WHEN models.dashboard_unfiltered(p_from, p_to, p_dimension)
            THEN (SELECT count(*) FROM models.person_firsts)
            ELSE (SELECT count(*) FROM persons) END,
       CASE WHEN models.dashboard_unfiltered(p_from, p_to, p_dimension)
            THEN (SELECT count(*) FROM models.person_value WHERE complete_90d)
            ELSE (SELECT count(*) FROM models.person_value v JOIN persons USING (person_id)
                  WHERE v.complete_90d) END,
       (SELECT coalesce(sum(events), 0)::bigint FROM models.dashboard_volume(p_from, p_to, p_dimension, p_segment)),
       CASE WHEN models.dashboard_unfiltered(p_from, p_to, p_dimension)
            THEN (SELECT count(*) FROM models.orders)
            ELSE (SELECT count(*) FROM models.orders o JOIN persons USING (person_id)) END
$$;
