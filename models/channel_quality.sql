-- traffic_quality's rows for first-touch channels, under the channel's name.
--
-- grain: one row per first-touch channel
-- kind: view
-- reads: traffic_quality
SELECT segment AS channel, persons, first_order_rate_30d, gross_profit_per_person_90d,
       repeat_rate_90d, valuable_micro_conversion_share
FROM models.traffic_quality WHERE dimension = 'channel'
