-- traffic_quality's rows for first-touch landing pages, under the page's path.
--
-- grain: one row per landing page
-- kind: view
-- reads: traffic_quality
SELECT segment AS landing_page, persons, first_order_rate_30d, gross_profit_per_person_90d,
       repeat_rate_90d, valuable_micro_conversion_share
FROM models.traffic_quality WHERE dimension = 'landing_page'
