-- Each experiment's variants compared with its control (docs/analytics.md):
-- conversion, repeat rate, gross profit and refunds per variant, the changes
-- against the control with the pooled z statistic and the 95% Welch
-- interval, and the verdict. It takes the exposed persons as a jsonb array
-- (one object each: experiment_id, variant, bought_before, orders_30d,
-- orders_60d, refunded_orders_60d, gross_profit_60d), so that
-- experiment_guardrails (every complete exposure) and the dashboard (the
-- exposures a filter selects) compare in the one way written here.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.experiment_comparison(exposures jsonb)
RETURNS TABLE (experiment_id text, variant text, is_control boolean, control_variant text,
               persons bigint, new_customers bigint, conversion_30d numeric, buyers_60d bigint,
               repeat_rate_60d numeric, gross_profit_per_person_60d numeric, refund_rate_60d numeric,
               conversion_lift numeric, repeat_rate_change numeric, repeat_rate_z numeric,
               profit_change numeric, profit_change_low numeric, profit_change_high numeric,
               verdict text)
LANGUAGE sql STABLE AS $$
WITH per_person AS (
    SELECT * FROM jsonb_to_recordset(coalesce(exposures, '[]')) AS x(
        experiment_id text, variant text, bought_before boolean, orders_30d bigint,
        orders_60d bigint, refunded_orders_60d bigint, gross_profit_60d numeric)
), variants AS (
    SELECT p.experiment_id, p.variant,
           count(*) AS persons,
           count(*) FILTER (WHERE NOT p.bought_before) AS new_customers,
           count(*) FILTER (WHERE NOT p.bought_before AND p.orders_30d > 0) AS first_orders_30d,
           count(*) FILTER (WHERE p.orders_60d >= 1) AS buyers_60d,
           count(*) FILTER (WHERE p.orders_60d >= 2) AS repeat_buyers_60d,
           sum(p.orders_60d) AS orders_60d,
           sum(p.refunded_orders_60d) AS refunded_orders_60d,
           sum(p.gross_profit_60d) AS s, sum(p.gross_profit_60d * p.gross_profit_60d) AS ss
    FROM per_person p
    GROUP BY p.experiment_id, p.variant
), rates AS (
    SELECT v.*,
           v.variant = coalesce(ec.control_variant, 'control') AS is_control,
           v.first_orders_30d::numeric / nullif(v.new_customers, 0) AS conversion_30d,
           v.repeat_buyers_60d::numeric / nullif(v.buyers_60d, 0) AS repeat_rate_60d,
           v.s / nullif(v.persons, 0) AS gross_profit_per_person_60d,
           models.sample_variance(v.persons, v.s, v.ss) AS profit_variance,
           v.refunded_orders_60d::numeric / nullif(v.orders_60d, 0) AS refund_rate_60d
    FROM variants v
    LEFT JOIN models.experiment_controls ec ON ec.experiment_id = v.experiment_id
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
)
SELECT j.experiment_id, j.variant, j.is_control, j.control_variant,
       j.persons, j.new_customers, j.conversion_30d, j.buyers_60d, j.repeat_rate_60d,
       j.gross_profit_per_person_60d, j.refund_rate_60d,
       j.conversion_lift, j.repeat_rate_change, j.repeat_rate_z,
       j.profit_change, j.profit_change - j.profit_margin, j.profit_change + j.profit_margin,
       models.guardrail_verdict(j.is_control, j.control_variant, j.persons, j.control_persons,
                                j.conversion_lift, j.repeat_rate_z,
                                j.profit_change + j.profit_margin)
FROM compared j
$$;
