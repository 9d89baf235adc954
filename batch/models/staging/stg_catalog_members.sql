/* model
kind = "append"
description = """Catalog rows as they landed from ref.catalog.{customers,products,plans,countries,currencies}, \
typed, codes normalized (upper case, trimmed). A merge keeps the newest fetch of each code."""
engine = "ReplacingMergeTree(fetched_at)"
order_by = ["catalog", "code"]
*/
SELECT
    toLowCardinality(catalog) AS catalog,
    upper(trimBoth(JSONExtractString(record, 'code'))) AS code,
    JSONExtract(record, 'name', 'Nullable(String)') AS name,
    JSONExtract(record, 'attributes', 'Map(String, String)') AS attributes,
    parseDateTime64BestEffortOrNull(JSONExtract(record, 'updated_at', 'Nullable(String)'), 3, 'UTC') AS updated_at,
    toLowCardinality(kafka_topic) AS record_source,
    fetched_at,
    kafka_partition,
    kafka_offset
FROM
(
    SELECT 'customers' AS catalog, * FROM raw_catalog_customers WHERE {{ landed_filter }}
    UNION ALL SELECT 'products' AS catalog, * FROM raw_catalog_products WHERE {{ landed_filter }}
    UNION ALL SELECT 'plans' AS catalog, * FROM raw_catalog_plans WHERE {{ landed_filter }}
    UNION ALL SELECT 'countries' AS catalog, * FROM raw_catalog_countries WHERE {{ landed_filter }}
    UNION ALL SELECT 'currencies' AS catalog, * FROM raw_catalog_currencies WHERE {{ landed_filter }}
)
WHERE code != ''
