-- Value per person at 30/60/90/180 days for everyone the filter selects
-- ('all'), and by first-touch channel, landing page and micro-conversion
-- in the first 7 days: models.cohort_ltv when the filter selects everyone,
-- else models.cohort_ltv_among. The p_limit largest segments of each
-- dimension, by persons.
--
-- kind: function
-- reads: cohort_ltv, cohort_ltv_among
CREATE OR REPLACE FUNCTION models.dashboard_segments(p_from date, p_to date, p_dimension text, p_segment text,
                                          p_limit integer DEFAULT 25)
RETURNS TABLE (dimension text, segment text, persons bigint,
               persons_complete_30d bigint, gross_profit_per_person_30d numeric,
               persons_complete_60d bigint, gross_profit_per_person_60d numeric,
               persons_complete_90d bigint, gross_profit_per_person_90d numeric,
               persons_complete_180d bigint, gross_profit_per_person_180d numeric,
               revenue_per_person_60d numeric, repeat_rate_90d numeric, refund_rate_90d numeric)
LANGUAGE sql STABLE AS $$
WITH cohorts AS (
    SELECT * FROM models.cohort_ltv WHERE models.dashboard_unfiltered(p_from, p_to, p_dimension)
    UNION ALL
    SELECT * FROM models.cohort_ltv_among(p_from, p_to, p_dimension, p_segment)
    WHERE NOT models.dashboard_unfiltered(p_from, p_to, p_dimension)
), ranked AS (
    SELECT c.*, row_number() OVER (PARTITION BY c.cohort_kind ORDER BY c.persons DESC, c.cohort) AS rank
    FROM cohorts c
    WHERE c.cohort_kind <> 'first_seen_month'
)
SELECT cohort_kind, cohort, persons, persons_complete_30d, gross_profit_per_person_30d,
       persons_complete_60d, gross_profit_per_person_60d, persons_complete_90d,
       gross_profit_per_person_90d, persons_complete_180d, gross_profit_per_person_180d,
       revenue_per_person_60d, repeat_rate_90d, refund_rate_90d
FROM ranked
WHERE rank <= p_limit
ORDER BY CASE cohort_kind WHEN 'all' THEN 0 WHEN 'channel' THEN 1 WHEN 'landing_page' THEN 2 ELSE 3 END,
         persons DESC, cohort
$$;
