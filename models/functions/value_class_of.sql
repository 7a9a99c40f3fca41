-- The value class a micro-conversion earns (docs/analytics.md): unclassified
-- with fewer than settings.min_persons_per_side persons on either side; P3
-- when the interval's lower end is not above zero; else the first of P0, P1,
-- P2 whose threshold (models.value_class_thresholds) the relative uplift
-- reaches, P3 below them all. event_value and the dashboard's filtered value
-- both classify with this.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.value_class_of(persons_with bigint, persons_without bigint,
                                                 uplift_low numeric, relative_uplift numeric)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN persons_with < s.min_persons_per_side OR persons_without < s.min_persons_per_side
            THEN 'unclassified'
        WHEN uplift_low <= 0 THEN 'P3'
        WHEN relative_uplift >= (SELECT min_relative_uplift FROM models.value_class_thresholds WHERE value_class = 'P0') THEN 'P0'
        WHEN relative_uplift >= (SELECT min_relative_uplift FROM models.value_class_thresholds WHERE value_class = 'P1') THEN 'P1'
        WHEN relative_uplift >= (SELECT min_relative_uplift FROM models.value_class_thresholds WHERE value_class = 'P2') THEN 'P2'
        ELSE 'P3'
    END
    FROM models.settings s
$$;
