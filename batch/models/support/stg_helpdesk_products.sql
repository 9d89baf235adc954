/* model
kind = "table"
description = """Helpdesk products from raw.helpdesk.products: the latest row of each product (newest updated_at, \
then fetch time, then Kafka offset); category and type lower-case, text trimmed, an empty text is null."""
grain = ["product_id"]

[tests]
not_null = ["product_id"]
*/
SELECT
    row.id AS product_id,
    nullIf(trimBoth(ifNull(row.name, '')), '') AS product_name,
    nullIf(lower(trimBoth(ifNull(row.category, ''))), '') AS product_category,
    nullIf(lower(trimBoth(ifNull(row.type, ''))), '') AS product_type,
    parseDateTime64BestEffort(row.updated_at, 3, 'UTC') AS updated_at
FROM
(
    SELECT
        JSONExtract(
            record, 'Tuple(id String, name Nullable(String), category Nullable(String), type Nullable(String), updated_at String)'
        ) AS row,
        fetched_at,
        kafka_offset
    FROM raw_helpdesk_products
    WHERE {{ landed_filter }}
)
ORDER BY product_id, updated_at DESC, fetched_at DESC, kafka_offset DESC
LIMIT 1 BY product_id
