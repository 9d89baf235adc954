/* model
kind = "append"
description = """Product usage rows as they landed from raw.product.usage, typed, codes normalized \
(upper case, trimmed; no country is ''). Every restatement is kept; a redelivered record collapses on merge."""
engine = "ReplacingMergeTree"
order_by = ["report_date", "customer_code", "product_code", "plan_code", "kafka_partition", "kafka_offset"]
partition_by = "toYYYYMM(report_date)"
time_column = "report_date"
*/
SELECT
    upper(trimBoth(row.customer_code)) AS customer_code,
    upper(trimBoth(row.product_code)) AS product_code,
    upper(trimBoth(row.plan_code)) AS plan_code,
    upper(trimBoth(ifNull(row.country_code, ''))) AS country_code,
    toDate(row.report_date) AS report_date,
    row.units_used AS units_used,
    row.included_units AS included_units,
    toLowCardinality(upper(trimBoth(row.status))) AS status,
    parseDateTime64BestEffort(row.updated_at, 3, 'UTC') AS updated_at,
    fetched_at,
    kafka_partition,
    kafka_offset
FROM
(
    SELECT
        -- One parse per record: a JSONExtract per field would parse it once per field.
        JSONExtract(
            record,
            'Tuple(customer_code String, product_code String, plan_code String, country_code Nullable(String), report_date String, units_used Float64, included_units Float64, status String, updated_at String)'
        ) AS row,
        fetched_at,
        kafka_partition,
        kafka_offset
    FROM raw_product_usage
    WHERE {{ landed_filter }}
)
