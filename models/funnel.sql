-- Each funnel's steps: persons reaching them, the rates from the previous
-- and the first step, and the median time to the next, for everyone and by
-- first-touch device type and channel (models.funnel_among, which the
-- dashboard's funnel panel uses too).
--
-- grain: one row per funnel, dimension, segment and step
-- kind: table
-- index: unique (funnel, dimension, segment, step)
-- reads: funnel_among
SELECT * FROM models.funnel_among(NULL, NULL, 'all', NULL)
