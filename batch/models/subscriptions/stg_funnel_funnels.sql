/* model
kind = "table"
description = """Funnels from raw.funnel.funnels: the latest row of each funnel (newest updated_at, then fetch time, \
then Kafka offset)."""
grain = ["funnel_id"]

[tests]
not_null = ["funnel_id"]
*/
SELECT
    row.id AS funnel_id,
    nullIf(trimBoth(ifNull(row.title, '')), '') AS title,
    parseDateTime64BestEffort(row.updated_at, 3, 'UTC') AS updated_at
FROM
(
    SELECT
        JSONExtract(record, 'Tuple(id String, title Nullable(String), updated_at String)') AS row,
        fetched_at,
        kafka_offset
    FROM raw_funnel_funnels
    WHERE {{ landed_filter }}
)
ORDER BY funnel_id, updated_at DESC, fetched_at DESC, kafka_offset DESC
LIMIT 1 BY funnel_id
