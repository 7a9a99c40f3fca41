-- The referrer's host when it is another site's; NULL for none or the
-- page's own.
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.external_host(referrer text, page_url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN coalesce(referrer, '') <> ''
                 AND models.url_host(referrer) IS DISTINCT FROM models.url_host(page_url)
                THEN models.url_host(referrer) END
$$;
