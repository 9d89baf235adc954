/* model
kind = "view"
description = """Refined product usage: per natural key (customer, product, plan, report_date) the latest \
row by updated_at then Kafka offset, kept while it is OPEN (a CLOSED latest row retires the key), \
with overage_units = greatest(units_used - included_units, 0)."""
*/
SELECT
    customer_code,
    product_code,
    plan_code,
    report_date,
    latest.1 AS country_code,
    latest.2 AS units_used,
    latest.3 AS included_units,
    greatest(units_used - included_units, 0) AS overage_units,
    latest.4 AS status,
    latest.5 AS updated_at
FROM
(
    SELECT
        report_date,
        customer_code,
        product_code,
        plan_code,
        -- A tuple: argMax skips rows whose value is null, and a null country_code must still win when newest.
        argMax(tuple(country_code, units_used, included_units, status, updated_at), (updated_at, kafka_offset))
            AS latest
    FROM stg_product_usage
    GROUP BY report_date, customer_code, product_code, plan_code
)
WHERE status = 'OPEN'
