-- Whether a filter selects everything: then panels read their model as the
-- refresh computed it.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.dashboard_unfiltered(p_from date, p_to date, p_dimension text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
SELECT p_from IS NULL AND p_to IS NULL AND p_dimension = 'all'
$$;
