-- The 97.5% quantile of Student's t distribution with `df` degrees of
-- freedom (two-sided 95%), by the Cornish-Fisher expansion (Abramowitz and
-- Stegun 26.7.5): within 1e-5 of the exact value for df >= 29, within 2% for
-- df >= 4. NULL df (no variance on either side) gives the normal 1.959964.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.t_975(df double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN df IS NULL OR df = 'Infinity' THEN z
        ELSE z + (z ^ 3 + z) / (4 * df)
               + (5 * z ^ 5 + 16 * z ^ 3 + 3 * z) / (96 * df ^ 2)
               + (3 * z ^ 7 + 19 * z ^ 5 + 17 * z ^ 3 - 15 * z) / (384 * df ^ 3)
               + (79 * z ^ 9 + 776 * z ^ 7 + 1482 * z ^ 5 - 1920 * z ^ 3 - 945 * z) / (92160 * df ^ 4)
    END
    FROM (SELECT 1.959963984540054::double precision AS z) normal
$$;
