-- The value of a query parameter in a URL or a query string, as sent.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.query_param(url text, name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN strpos(url, name || '=') > 0
                THEN nullif(substring(url FROM '(?:^|[?&])' || name || '=([^&#]*)'), '') END
$$;
