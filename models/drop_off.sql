-- Where persons drop out of each funnel, among everyone
-- (models.drop_off_among, which the dashboard's journeys panel uses too).
--
-- grain: one row per funnel, step, dimension and segment
-- kind: table
-- index: unique (funnel, step, dimension, segment)
-- reads: drop_off_among
SELECT * FROM models.drop_off_among(NULL, NULL, 'all', NULL)
