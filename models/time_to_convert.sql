-- Time to convert per micro-conversion, among everyone
-- (models.time_to_convert_among, which the dashboard's journeys panel uses
-- too): median and 75th percentile from first touch and from the session's
-- start, and how many persons took how long.
--
-- grain: one row per micro-conversion
-- kind: table
-- index: unique (event_name)
-- reads: time_to_convert_among
SELECT * FROM models.time_to_convert_among(NULL, NULL, 'all', NULL)
