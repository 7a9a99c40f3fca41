-- The path of a page view: its `path`, else the page context's, else the
-- path of its URL.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.page_path(context jsonb, properties jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(nullif(properties ->> 'path', ''), nullif(context #>> '{page,path}', ''),
                    nullif(substring(coalesce(properties ->> 'url', context #>> '{page,url}')
                                     FROM '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*(/[^?#]*)'), ''))
$$;
