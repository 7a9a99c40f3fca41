-- Converters' paths against non-converters', among everyone
-- (models.path_comparison_among, which the dashboard's journeys panel uses
-- too).
--
-- grain: one row per micro-conversion and per ordered pair of them
-- kind: table
-- index: unique (kind, first_event, coalesce(second_event, ''))
-- reads: path_comparison_among
SELECT * FROM models.path_comparison_among(NULL, NULL, 'all', NULL)
