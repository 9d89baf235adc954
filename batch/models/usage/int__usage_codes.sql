/* model
kind = "append"
description = """Every code product usage names, per catalog, with when usage first named it (the earliest \
fetch of a usage row naming it)."""
engine = "AggregatingMergeTree"
order_by = ["catalog", "code"]
*/
SELECT
    toLowCardinality(member.1) AS catalog,
    member.2 AS code,
    CAST(min(fetched_at) AS SimpleAggregateFunction(min, DateTime64(3, 'UTC'))) AS first_seen_at
FROM stg_product_usage
ARRAY JOIN
    [('customers', customer_code), ('products', product_code), ('plans', plan_code), ('countries', country_code)]
    AS member
WHERE member.2 != ''
GROUP BY catalog, code
