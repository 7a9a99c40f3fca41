-- A funnel stage's place in the funnel: awareness 1, consideration 2,
-- intent 3, purchase 4, retention 5; NULL for none (schema::kFunnelStages
-- lists the same stages for the server).
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.stage_rank(stage text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_position(ARRAY['awareness', 'consideration', 'intent', 'purchase', 'retention'],
                          stage)
$$;
