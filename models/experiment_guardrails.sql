-- Experiments: each variant of persons whose 60 days after exposure are
-- complete, compared with the control variant, and its verdict
-- (models.experiment_comparison, which the dashboard's experiments panel
-- uses too).
--
-- grain: one row per experiment and variant
-- kind: table
-- index: unique (experiment_id, variant)
-- reads: experiment_exposures
SELECT *
FROM models.experiment_comparison((
    SELECT jsonb_agg(x)
    FROM (SELECT experiment_id, variant, bought_before, orders_30d, orders_60d,
                 refunded_orders_60d, gross_profit_60d
          FROM models.experiment_exposures
          WHERE complete_60d) x))
