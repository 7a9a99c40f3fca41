-- Half the width of the 95% Welch interval of a difference of two means:
-- t(0.975, df) * sqrt(var1/n1 + var0/n0), df by Welch-Satterthwaite. NULL
-- when either side has no variance.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.welch_margin(var1 numeric, n1 numeric, var0 numeric, n0 numeric)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (models.t_975(((var1 / nullif(n1, 0) + var0 / nullif(n0, 0)) ^ 2
                / nullif((var1 / nullif(n1, 0)) ^ 2 / nullif(n1 - 1, 0)
                         + (var0 / nullif(n0, 0)) ^ 2 / nullif(n0 - 1, 0), 0))::double precision)
            * sqrt((var1 / nullif(n1, 0) + var0 / nullif(n0, 0))::double precision))::numeric
$$;
