-- The most common paths to purchase and to no purchase, among everyone
-- (models.paths_among, which the dashboard's journeys panel uses too).
--
-- grain: one row per listed path, and '(other)'
-- kind: table
-- index: unique (path)
-- reads: paths_among
SELECT * FROM models.paths_among(NULL, NULL, 'all', NULL)
