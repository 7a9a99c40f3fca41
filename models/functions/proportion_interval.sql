-- The 95% Wilson score interval of the proportion x/n: unlike p ± 1.96
-- standard errors it stays within [0, 1] and stays wide for small n, so a
-- small segment is not over-read. NULLs when n is 0.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.proportion_interval(x bigint, n bigint, OUT low numeric,
                                                      OUT high numeric)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ((p + z * z / (2 * n) - z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)))
                / (1 + z * z / n))::numeric,
           ((p + z * z / (2 * n) + z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)))
                / (1 + z * z / n))::numeric
    FROM (SELECT x::float8 / nullif(n, 0) AS p, nullif(n, 0)::float8 AS n,
                 1.959963984540054::float8 AS z) given
$$;
