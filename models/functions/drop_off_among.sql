-- Where persons drop out of each funnel, among the persons a filter selects
-- (docs/analytics.md#drop-off): per step and the next, for them all and by
-- first-touch channel, device type and landing page, the persons who
-- reached the step, those who went on to the next, the loss (the share who
-- did not) with its 95% Wilson interval (models.proportion_interval), and
-- everyone's loss at that step. largest marks the step with the largest
-- loss of each funnel and segment; worse_than_all, a segment whose loss is
-- above everyone's even at its interval's low end; worst_rank orders a
-- dimension's segments at a step by that low end, the credibly worst
-- first.
--
-- kind: function
-- reads: dashboard_persons, funnel_progress
CREATE OR REPLACE FUNCTION models.drop_off_among(p_from date, p_to date, p_dimension text,
                                                 p_segment text)
RETURNS TABLE (funnel text, step integer, event_name text, next_event_name text, dimension text,
               segment text, reached bigint, continued bigint, loss numeric, loss_low numeric,
               loss_high numeric, loss_of_all numeric, largest boolean, worse_than_all boolean,
               worst_rank bigint)
LANGUAGE sql STABLE AS $$
WITH progress AS (
    SELECT f.funnel, f.step, p.channel, p.device_type, p.landing_page
    FROM models.funnel_progress f
    JOIN models.dashboard_persons(p_from, p_to, p_dimension, p_segment) p USING (person_id)
), counted AS (
    SELECT progress.funnel, progress.step,
           CASE WHEN GROUPING(channel) = 0 THEN 'channel'
                WHEN GROUPING(device_type) = 0 THEN 'device_type'
                WHEN GROUPING(landing_page) = 0 THEN 'landing_page' ELSE 'all' END AS dimension,
           coalesce(CASE WHEN GROUPING(channel) = 0 THEN channel
                         WHEN GROUPING(device_type) = 0 THEN device_type
                         WHEN GROUPING(landing_page) = 0 THEN landing_page END, 'all') AS segment,
           count(*) AS persons
    FROM progress
    GROUP BY GROUPING SETS ((progress.funnel, progress.step),
                            (progress.funnel, progress.step, channel),
                            (progress.funnel, progress.step, device_type),
                            (progress.funnel, progress.step, landing_page))
), transitions AS (
    SELECT s.funnel, s.step, s.event_name, n.event_name AS next_event_name, c.dimension,
           c.segment, c.persons AS reached, coalesce(went.persons, 0) AS continued
    FROM models.funnel_steps s
    JOIN models.funnel_steps n ON n.funnel = s.funnel AND n.step = s.step + 1
    JOIN counted c ON c.funnel = s.funnel AND c.step = s.step
    LEFT JOIN counted went ON went.funnel = s.funnel AND went.step = n.step
         AND went.dimension = c.dimension AND went.segment = c.segment
), losses AS (
    SELECT t.*, 1 - t.continued::numeric / t.reached AS loss, 1 - i.high AS loss_low,
           1 - i.low AS loss_high
    FROM transitions t
    CROSS JOIN LATERAL models.proportion_interval(t.continued, t.reached) i
)
SELECT l.funnel, l.step, l.event_name, l.next_event_name, l.dimension, l.segment, l.reached,
       l.continued, l.loss, l.loss_low, l.loss_high, everyone.loss,
       row_number() OVER (PARTITION BY l.funnel, l.dimension, l.segment
                          ORDER BY l.loss DESC, l.step) = 1,
       l.dimension <> 'all' AND l.loss_low > everyone.loss,
       CASE WHEN l.dimension <> 'all' THEN
           row_number() OVER (PARTITION BY l.funnel, l.step, l.dimension
                              ORDER BY l.loss_low DESC, l.segment) END
FROM losses l
JOIN losses everyone ON everyone.funnel = l.funnel AND everyone.step = l.step
     AND everyone.dimension = 'all'
$$;
