-- The segments a filter can select, with their persons.
--
-- kind: function
-- reads: person_firsts
CREATE OR REPLACE FUNCTION models.dashboard_filters(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (dimension text, segment text, persons bigint)
LANGUAGE sql STABLE AS $$
SELECT 'channel', channel, count(*) FROM models.person_firsts GROUP BY channel
UNION ALL
SELECT 'device_type', device_type, count(*) FROM models.person_firsts GROUP BY device_type
ORDER BY 1, 3 DESC, 2
$$;
