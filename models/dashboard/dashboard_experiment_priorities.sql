-- The queue of candidate experiments with both scores
-- (models.experiment_priorities), by value rank. The queue is the shop's,
-- not a segment's: the filter does not change it.
--
-- kind: function
-- reads: experiment_priorities
CREATE OR REPLACE FUNCTION models.dashboard_experiment_priorities(p_from date, p_to date,
                                                                  p_dimension text, p_segment text)
RETURNS SETOF models.experiment_priorities
LANGUAGE sql STABLE AS $$
SELECT * FROM models.experiment_priorities ORDER BY value_rank, ice_rank, name
$$;
