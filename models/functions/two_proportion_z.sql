-- The z statistic of the difference of two proportions x1/n1 - x0/n0, with
-- the pooled rate in the standard error. NULL when either side is empty or
-- the pooled rate is 0 or 1.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.two_proportion_z(x1 bigint, n1 bigint, x0 bigint, n0 bigint)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (x1::numeric / nullif(n1, 0) - x0::numeric / nullif(n0, 0))
           / nullif(sqrt(((x1 + x0)::numeric / nullif(n1 + n0, 0))
                         * (1 - (x1 + x0)::numeric / nullif(n1 + n0, 0))
                         * (1::numeric / nullif(n1, 0) + 1::numeric / nullif(n0, 0))), 0)
$$;
