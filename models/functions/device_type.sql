-- mobile, tablet or desktop, from context.device.type or the user agent;
-- NULL when the event says neither.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.device_type(context jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN lower(context #>> '{device,type}') IN ('mobile', 'tablet', 'desktop')
            THEN lower(context #>> '{device,type}')
        WHEN lower(context #>> '{device,type}') IN ('ios', 'android') THEN 'mobile'
        WHEN context ->> 'userAgent' ~* '(ipad|tablet)' THEN 'tablet'
        WHEN context ->> 'userAgent' ~* '(mobi|iphone|ipod)' THEN 'mobile'
        WHEN context ->> 'userAgent' ~* 'android' THEN 'tablet'
        WHEN coalesce(context ->> 'userAgent', '') <> '' THEN 'desktop'
    END
$$;
