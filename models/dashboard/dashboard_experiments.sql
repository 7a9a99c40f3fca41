-- Each experiment's variants among the exposures in the range of persons
-- in the segment (experiment_guardrails' definitions), with the verdict in
-- words.
--
-- kind: function
-- reads: experiment_exposures
CREATE OR REPLACE FUNCTION models.dashboard_experiments(p_from date, p_to date, p_dimension text, p_segment text)
RETURNS TABLE (experiment_id text, variant text, is_control boolean, control_variant text,
               persons bigint, new_customers bigint, conversion_30d numeric, buyers_60d bigint,
               repeat_rate_60d numeric, gross_profit_per_person_60d numeric, refund_rate_60d numeric,
               conversion_lift numeric, repeat_rate_change numeric, repeat_rate_z numeric,
               profit_change numeric, profit_change_low numeric, profit_change_high numeric,
               verdict text, verdict_text text)
LANGUAGE sql STABLE AS $$
WITH per_person AS (
    SELECT x.*
    FROM models.experiment_exposures x
    JOIN models.dashboard_persons(NULL, NULL, p_dimension, p_segment) p USING (person_id)
    WHERE x.complete_60d
      AND models.dashboard_in_range((x.exposed_at AT TIME ZONE 'UTC')::date, p_from, p_to)
), variants AS (
    SELECT experiment_id, variant,
           count(*) AS persons,
           count(*) FILTER (WHERE NOT bought_before) AS new_customers,
           count(*) FILTER (WHERE NOT bought_before AND orders_30d > 0) AS first_orders_30d,
           count(*) FILTER (WHERE orders_60d >= 1) AS buyers_60d,
           count(*) FILTER (WHERE orders_60d >= 2) AS repeat_buyers_60d,
           sum(orders_60d) AS orders_60d,
           sum(refunded_orders_60d) AS refunded_orders_60d,
           sum(gross_profit_60d) AS s, sum(gross_profit_60d * gross_profit_60d) AS ss
    FROM per_person
    GROUP BY experiment_id, variant
), rates AS (
    SELECT v.*,
           v.variant = coalesce(ec.control_variant, 'control') AS is_control,
           first_orders_30d::numeric / nullif(new_customers, 0) AS conversion_30d,
           repeat_buyers_60d::numeric / nullif(buyers_60d, 0) AS repeat_rate_60d,
           s / nullif(persons, 0) AS gross_profit_per_person_60d,
           models.sample_variance(persons, s, ss) AS profit_variance,
           refunded_orders_60d::numeric / nullif(orders_60d, 0) AS refund_rate_60d
    FROM variants v
    LEFT JOIN models.experiment_controls ec USING (experiment_id)
), compared AS (
    SELECT r.*,
           c.variant AS control_variant,
           r.conversion_30d - c.conversion_30d AS conversion_lift,
           r.repeat_rate_60d - c.repeat_rate_60d AS repeat_rate_change,
           models.two_proportion_z(r.repeat_buyers_60d, r.buyers_60d,
                                   c.repeat_buyers_60d, c.buyers_60d) AS repeat_rate_z,
           r.gross_profit_per_person_60d - c.gross_profit_per_person_60d AS profit_change,
           models.welch_margin(r.profit_variance, r.persons, c.profit_variance, c.persons)
               AS profit_margin,
           c.persons AS control_persons
    FROM rates r
    LEFT JOIN rates c ON c.experiment_id = r.experiment_id AND c.is_control
), judged AS (
    SELECT j.*,
           j.profit_change + j.profit_margin AS profit_change_high,
           j.profit_change - j.profit_margin AS profit_change_low,
           models.guardrail_verdict(j.is_control, j.control_variant, j.persons, j.control_persons,
                                    j.conversion_lift, j.repeat_rate_z,
                                    j.profit_change + j.profit_margin) AS verdict,
           s.min_persons_per_side
    FROM compared j CROSS JOIN models.settings s
), worded AS (
    -- Changes in percentage points, signed.
    SELECT judged.*,
           to_char(conversion_lift * 100, 'FMSG990.0') AS conversion_points,
           to_char(repeat_rate_change * 100, 'FMSG990.0') AS repeat_points
    FROM judged
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
