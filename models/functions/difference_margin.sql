-- Half the width of the 95% interval of a difference of two proportions
-- x1/n1 - x0/n0: 1.96 * sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0). NULL
-- when either side is empty.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.difference_margin(x1 bigint, n1 bigint, x0 bigint, n0 bigint)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (1.959963984540054 * sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0))::numeric
    FROM (SELECT x1::float8 / nullif(n1, 0) AS p1, nullif(n1, 0)::float8 AS n1,
                 x0::float8 / nullif(n0, 0) AS p0, nullif(n0, 0)::float8 AS n0) given
$$;
