/* model
kind = "table"
description = """Products: the catalog's, the default member (key 0) and a placeholder for each code usage \
names before the catalog has it (record_source 'System.DefaultKey', first_seen_at)."""
grain = ["product_key"]

[tests]
not_null = ["product_key", "product_code"]
*/
SELECT
    member_key AS product_key,
    code AS product_code,
    name AS product_name,
    attributes['category'] AS category,
    attributes['unit'] AS unit,
    attributes,
    record_source,
    first_seen_at,
    updated_at
FROM int__dim_members
WHERE catalog = 'products'
