-- The verdict on an experiment's variant (docs/analytics.md): the control
-- itself; no control to compare with; insufficient data (fewer than
-- settings.min_persons_per_side persons on either side); a regression when it
-- wins on conversion but loses significantly on repeat purchases (z below
-- -1.96) or on gross profit (the interval's upper end below zero); else no
-- regression. experiment_guardrails and the dashboard's experiments both
-- judge with this.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.guardrail_verdict(is_control boolean, control_variant text,
                                                    persons bigint, control_persons bigint,
                                                    conversion_lift numeric, repeat_rate_z numeric,
                                                    profit_change_high numeric)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN is_control THEN 'control'
        WHEN control_variant IS NULL THEN 'no_control'
        WHEN persons < s.min_persons_per_side OR control_persons < s.min_persons_per_side
            THEN 'insufficient_data'
        WHEN conversion_lift > 0
             AND (repeat_rate_z < -1.959963984540054 OR profit_change_high < 0) THEN 'regression'
        ELSE 'no_regression'
    END
    FROM models.settings s
$$;
