/* model
kind = "table"
description = """Customers: the catalog's, the default member (key 0) and a placeholder for each code usage \
names before the catalog has it (record_source 'System.DefaultKey', first_seen_at)."""
grain = ["customer_key"]

[tests]
not_null = ["customer_key", "customer_code"]
*/
SELECT
    member_key AS customer_key,
    code AS customer_code,
    name AS customer_name,
    attributes['segment'] AS segment,
    attributes['country_code'] AS country_code,
    attributes,
    record_source,
    first_seen_at,
    updated_at
FROM int__dim_members
WHERE catalog = 'customers'
