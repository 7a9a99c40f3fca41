-- A share or a change as people read it: 0.1234 is '12.3%'; with a sign
-- when it is a change ('+12.3%', '-12.3%'). NULL is 'n/a'.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.percent(value numeric, signed boolean DEFAULT false) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN value IS NULL THEN 'n/a'
        ELSE CASE WHEN signed AND value >= 0 THEN '+' ELSE '' END
             || to_char(round(value * 100, 1), 'FM999999990.0') || '%'
    END
$$;
