/* model
kind = "table"
description = """Plans: the catalog's, the default member (key 0) and a placeholder for each code usage \
names before the catalog has it (record_source 'System.DefaultKey', first_seen_at)."""
grain = ["plan_key"]

[tests]
not_null = ["plan_key", "plan_code"]
*/
SELECT
    member_key AS plan_key,
    code AS plan_code,
    name AS plan_name,
    toUInt8OrNull(attributes['tier']) AS tier,
    attributes,
    record_source,
    first_seen_at,
    updated_at
FROM int__dim_members
WHERE catalog = 'plans'
