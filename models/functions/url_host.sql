-- The host of a URL, lower case, without a leading "www.".
--
-- kind: function
-- reads: (no model)
CREATE OR REPLACE FUNCTION models.url_host(url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- String functions rather than a regular expression: this runs for
    -- every session. scheme://[user@]host[:port][/path][?query][#fragment]
    SELECT CASE WHEN url ~ '^[A-Za-z][A-Za-z0-9+.-]*://' THEN
        nullif(regexp_replace(lower(split_part(
            substr(split_part(split_part(split_part(split_part(url, '://', 2), '/', 1), '?', 1), '#', 1),
                   strpos(split_part(split_part(split_part(split_part(url, '://', 2), '/', 1), '?', 1), '#', 1), '@') + 1),
            ':', 1)), '^www\.', ''), '')
    END
$$;
