/* model
kind = "table"
description = """Helpdesk customers from raw.helpdesk.customers: the latest row of each customer (newest updated_at, \
then fetch time, then Kafka offset); text trimmed, an empty text is null; clv in USD."""
grain = ["customer_id"]

[tests]
not_null = ["customer_id"]
*/
SELECT
    row.id AS customer_id,
    nullIf(trimBoth(ifNull(row.segment, '')), '') AS segment,
    nullIf(trimBoth(ifNull(row.city, '')), '') AS city,
    row.clv AS clv,
    parseDateTime64BestEffort(row.updated_at, 3, 'UTC') AS updated_at
FROM
(
    SELECT
        JSONExtract(
            record, 'Tuple(id String, segment Nullable(String), city Nullable(String), clv Nullable(Float64), updated_at String)'
        ) AS row,
        fetched_at,
        kafka_offset
    FROM raw_helpdesk_customers
    WHERE {{ landed_filter }}
)
ORDER BY customer_id, updated_at DESC, fetched_at DESC, kafka_offset DESC
LIMIT 1 BY customer_id
