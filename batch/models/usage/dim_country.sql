/* model
kind = "table"
description = """Countries: the catalog's, the default member (key 0, also for usage without a country) and \
a placeholder for each code usage names before the catalog has it (record_source \
'System.DefaultKey', first_seen_at)."""
grain = ["country_key"]

[tests]
not_null = ["country_key", "country_code"]
*/
SELECT
    member_key AS country_key,
    code AS country_code,
    name AS country_name,
    attributes['region'] AS region,
    attributes,
    record_source,
    first_seen_at,
    updated_at
FROM int__dim_members
WHERE catalog = 'countries'
