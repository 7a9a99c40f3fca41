-- The channel an event with page context came through: the campaign source,
-- else utm_source in the page's query, else the referrer's domain when it is
-- another site, else 'direct'. NULL for an event without page context (a
-- backend event says nothing about how the person arrived).
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.touch_channel(event_type text, context jsonb, properties jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN NOT (context ? 'campaign' OR context ? 'page' OR event_type = 'page') THEN NULL
        ELSE coalesce(
            lower(nullif(btrim(context #>> '{campaign,source}'), '')),
            lower(models.query_param(coalesce(context #>> '{page,search}', properties ->> 'search'), 'utm_source')),
            lower(models.query_param(coalesce(context #>> '{page,url}', properties ->> 'url'), 'utm_source')),
            models.external_host(coalesce(context #>> '{page,referrer}', properties ->> 'referrer'),
                                 coalesce(context #>> '{page,url}', properties ->> 'url')),
            'direct')
    END
$$;
