-- The persons a filter selects, with their first touch.
--
-- kind: function
-- reads: person_firsts
CREATE OR REPLACE FUNCTION models.dashboard_persons(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (person_id text, first_seen timestamptz, channel text, landing_page text,
               device_type text)
LANGUAGE sql STABLE AS $$
SELECT p.person_id, p.first_seen, p.channel, p.landing_page, p.device_type
FROM models.person_firsts p
WHERE (p_from IS NULL OR p.first_seen >= p_from::timestamp AT TIME ZONE 'UTC')
  AND (p_to IS NULL OR p.first_seen < (p_to + 1)::timestamp AT TIME ZONE 'UTC')
  AND CASE p_dimension WHEN 'all' THEN true
                       WHEN 'channel' THEN p.channel = p_segment
                       WHEN 'device_type' THEN p.device_type = p_segment END
$$;
