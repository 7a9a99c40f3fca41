-- Whether a UTC day is in the range.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.dashboard_in_range(day date, p_from date, p_to date) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
SELECT (p_from IS NULL OR day >= p_from) AND (p_to IS NULL OR day <= p_to)
$$;
