-- Converters' paths against non-converters' among the persons a filter
-- selects (docs/analytics.md#path-comparison): per micro-conversion
-- (kind 'event': the path has it) and per ordered pair (kind 'pair': the
-- path has first_event before second_event), the share of converters and
-- of non-converters whose path has it, the difference with its 95%
-- interval (models.difference_margin), the conversion rate of the persons
-- whose path has it and of the rest, and the lift (the ratio less 1). A
-- pair also has the persons with the reverse order and their conversion
-- rate, and the difference of the two rates with its 95% interval: what
-- tells "compared, then added to the cart" from "added, then compared".
-- funnel_steps_only marks a row whose events are all steps of a funnel
-- (models.funnel_steps): a buyer's checkout says nothing new. Full paths,
-- not cut to path_max_steps.
--
-- kind: function
-- reads: dashboard_persons, person_paths
CREATE OR REPLACE FUNCTION models.path_comparison_among(p_from date, p_to date, p_dimension text,
                                                        p_segment text)
RETURNS TABLE (kind text, first_event text, second_event text, converters_with bigint,
               non_converters_with bigint, share_of_converters numeric,
               share_of_non_converters numeric, difference numeric, difference_low numeric,
               difference_high numeric, conversion_rate_with numeric,
               conversion_rate_without numeric, lift numeric, reversed_persons bigint,
               conversion_rate_reversed numeric, difference_from_reversed numeric,
               difference_from_reversed_low numeric, difference_from_reversed_high numeric,
               funnel_steps_only boolean)
LANGUAGE sql STABLE AS $$
WITH persons AS (
    SELECT pp.person_id, pp.converted, pp.path
    FROM models.person_paths pp
    JOIN models.dashboard_persons(p_from, p_to, p_dimension, p_segment) USING (person_id)
), totals AS (
    SELECT count(*) FILTER (WHERE converted) AS n1, count(*) FILTER (WHERE NOT converted) AS n0
    FROM persons
), steps AS (
    SELECT p.person_id, p.converted, step.event_name, step.position
    FROM persons p CROSS JOIN LATERAL unnest(p.path) WITH ORDINALITY AS step(event_name, position)
), patterns AS (
    SELECT 'event' AS kind, event_name AS first_event, NULL::text AS second_event, converted
    FROM steps
    UNION ALL
    SELECT 'pair', a.event_name, b.event_name, a.converted
    FROM steps a JOIN steps b ON b.person_id = a.person_id AND b.position > a.position
), counted AS (
    SELECT p.kind, p.first_event, p.second_event,
           count(*) FILTER (WHERE p.converted) AS x1, count(*) FILTER (WHERE NOT p.converted) AS x0
    FROM patterns p GROUP BY p.kind, p.first_event, p.second_event
), rated AS (
    SELECT c.*, t.n1, t.n0,
           c.x1::numeric / nullif(t.n1, 0) AS share1, c.x0::numeric / nullif(t.n0, 0) AS share0,
           c.x1::numeric / (c.x1 + c.x0) AS rate_with,
           (t.n1 - c.x1)::numeric / nullif(t.n1 + t.n0 - c.x1 - c.x0, 0) AS rate_without
    FROM counted c CROSS JOIN totals t
)
SELECT r.kind, r.first_event, r.second_event, r.x1, r.x0, r.share1, r.share0,
       r.share1 - r.share0,
       r.share1 - r.share0 - models.difference_margin(r.x1, r.n1, r.x0, r.n0),
       r.share1 - r.share0 + models.difference_margin(r.x1, r.n1, r.x0, r.n0),
       r.rate_with, r.rate_without, r.rate_with / nullif(r.rate_without, 0) - 1,
       CASE WHEN r.kind = 'pair' THEN coalesce(rev.x1 + rev.x0, 0) END, rev.rate_with,
       r.rate_with - rev.rate_with,
       r.rate_with - rev.rate_with
           - models.difference_margin(r.x1, r.x1 + r.x0, rev.x1, rev.x1 + rev.x0),
       r.rate_with - rev.rate_with
           + models.difference_margin(r.x1, r.x1 + r.x0, rev.x1, rev.x1 + rev.x0),
       r.first_event IN (SELECT s.event_name FROM models.funnel_steps s)
           AND (r.second_event IS NULL
                OR r.second_event IN (SELECT s.event_name FROM models.funnel_steps s))
FROM rated r
LEFT JOIN rated rev ON r.kind = 'pair' AND rev.kind = 'pair'
     AND rev.first_event = r.second_event AND rev.second_event = r.first_event
$$;
