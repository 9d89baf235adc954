/* check
severity = "warn"
description = """Codes usage names that their catalog does not have yet: the placeholders of dim_customer, \
dim_product, dim_plan and dim_country, with how long each has waited."""
*/
SELECT
    catalog,
    code,
    first_seen_at,
    dateDiff('hour', first_seen_at, now64(3, 'UTC')) AS hours_waiting
FROM int__dim_members
WHERE record_source = 'System.DefaultKey'
