-- The sample variance (denominator n - 1) from a count, a sum and a sum of
-- squares; NULL for fewer than two values.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.sample_variance(n numeric, s numeric, ss numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (ss - s * s / nullif(n, 0)) / nullif(n - 1, 0)
$$;
