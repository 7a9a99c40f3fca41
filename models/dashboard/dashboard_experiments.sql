-- Each experiment's variants among the exposures in the range of persons
-- in the segment (models.experiment_comparison, as experiment_guardrails),
-- with the verdict in words.
--
-- kind: function
-- reads: dashboard_persons, experiment_exposures
CREATE OR REPLACE FUNCTION models.dashboard_experiments(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (experiment_id text, variant text, is_control boolean, control_variant text,
               persons bigint, new_customers bigint, conversion_30d numeric, buyers_60d bigint,
               repeat_rate_60d numeric, gross_profit_per_person_60d numeric, refund_rate_60d numeric,
               conversion_lift numeric, repeat_rate_change numeric, repeat_rate_z numeric,
               profit_change numeric, profit_change_low numeric, profit_change_high numeric,
               verdict text, verdict_text text)
LANGUAGE sql STABLE AS $$
WITH compared AS (
    SELECT c.*
    FROM models.experiment_comparison((
        SELECT jsonb_agg(x)
        FROM (SELECT x.experiment_id, x.variant, x.bought_before, x.orders_30d, x.orders_60d,
                     x.refunded_orders_60d, x.gross_profit_60d
              FROM models.experiment_exposures x
              JOIN models.dashboard_persons(NULL, NULL, p_dimension, p_segment) p USING (person_id)
              WHERE x.complete_60d
                AND models.dashboard_in_range((x.exposed_at AT TIME ZONE 'UTC')::date, p_from, p_to)) x)) c
), worded AS (
    -- Changes in percentage points, signed.
    SELECT compared.*, s.min_persons_per_side,
           to_char(conversion_lift * 100, 'FMSG990.0') AS conversion_points,
           to_char(repeat_rate_change * 100, 'FMSG990.0') AS repeat_points
    FROM compared CROSS JOIN models.settings s
)
SELECT experiment_id, variant, is_control, control_variant, persons, new_customers, conversion_30d,
       buyers_60d, repeat_rate_60d, gross_profit_per_person_60d, refund_rate_60d, conversion_lift,
       repeat_rate_change, repeat_rate_z, profit_change, profit_change_low, profit_change_high,
       verdict,
       CASE verdict
           WHEN 'control' THEN 'the control the other variants are compared with'
           WHEN 'no_control' THEN 'no control among these exposures to compare with (the variant '
                || 'named in models.experiment_controls, else ''control'')'
           WHEN 'insufficient_data' THEN 'too few persons to judge: fewer than ' || min_persons_per_side
                || ' with 60 complete days on a side'
           WHEN 'regression' THEN 'wins on conversion (' || conversion_points || ' points), loses on '
                || CASE WHEN repeat_rate_z < -1.959963984540054 AND profit_change_high < 0
                            THEN 'repeat purchases (' || repeat_points || ' points) and gross profit per person'
                        WHEN repeat_rate_z < -1.959963984540054
                            THEN 'repeat purchases (' || repeat_points || ' points)'
                        ELSE 'gross profit per person' END
                || ': treat as a regression'
           ELSE CASE WHEN conversion_lift > 0
                     THEN 'wins on conversion (' || conversion_points || ' points) without a '
                          || 'significant loss in repeat purchases or gross profit: no regression found'
                     WHEN conversion_lift IS NULL THEN 'no conversion to compare: no regression found'
                     ELSE 'does not win on conversion (' || conversion_points
                          || ' points): no regression to guard against' END
       END
FROM worded
ORDER BY experiment_id, NOT is_control, variant
$$;
