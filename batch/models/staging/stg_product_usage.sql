/* model
kind = "append"
description = """Product usage rows as they landed from raw.product.usage, typed, codes normalized \
(upper case, trimmed). Every restatement is kept; a redelivered record collapses on merge."""
engine = "ReplacingMergeTree"
order_by = ["report_date", "customer_code", "product_code", "plan_code", "kafka_partition", "kafka_offset"]
partition_by = "toYYYYMM(report_date)"
time_column = "report_date"
*/
SELECT
    upper(trimBoth(JSONExtractString(record, 'customer_code'))) AS customer_code,
    upper(trimBoth(JSONExtractString(record, 'product_code'))) AS product_code,
    upper(trimBoth(JSONExtractString(record, 'plan_code'))) AS plan_code,
    nullIf(upper(trimBoth(ifNull(JSONExtract(record, 'country_code', 'Nullable(String)'), ''))), '') AS country_code,
    toDate(JSONExtractString(record, 'report_date')) AS report_date,
    JSONExtractFloat(record, 'units_used') AS units_used,
    JSONExtractFloat(record, 'included_units') AS included_units,
    toLowCardinality(upper(trimBoth(JSONExtractString(record, 'status')))) AS status,
    parseDateTime64BestEffort(JSONExtractString(record, 'updated_at'), 3, 'UTC') AS updated_at,
    fetched_at,
    kafka_partition,
    kafka_offset
FROM raw_product_usage
WHERE {{ landed_filter }}
