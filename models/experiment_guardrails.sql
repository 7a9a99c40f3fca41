-- Experiments: each variant of persons whose 60 days after exposure are
-- complete, compared with the control variant, and its verdict
-- (models.guardrail_verdict).
--
-- grain: one row per experiment and variant
-- kind: table
-- index: unique (experiment_id, variant)
-- reads: experiment_exposures
WITH per_person AS (
    SELECT experiment_id, variant, person_id, bought_before, orders_30d, orders_60d,
           refunded_orders_60d, gross_profit_60d
    FROM models.experiment_exposures
    WHERE complete_60d
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
    SELECT compared.*,
           profit_change + profit_margin AS profit_change_high,
           profit_change - profit_margin AS profit_change_low
    FROM compared
)
SELECT j.experiment_id, j.variant, j.is_control, j.control_variant,
       j.persons, j.new_customers, j.conversion_30d, j.buyers_60d, j.repeat_rate_60d,
       j.gross_profit_per_person_60d, j.refund_rate_60d,
       j.conversion_lift, j.repeat_rate_change, j.repeat_rate_z,
       j.profit_change, j.profit_change_low, j.profit_change_high,
       models.guardrail_verdict(j.is_control, j.control_variant, j.persons, j.control_persons,
                                j.conversion_lift, j.repeat_rate_z, j.profit_change_high) AS verdict
FROM judged j
