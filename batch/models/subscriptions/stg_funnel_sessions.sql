/* model
kind = "table"
description = """Funnel sessions from raw.funnel.sessions, typed and cleaned: the latest row of each session (newest \
updated_at, then fetch time, then Kafka offset); email lower-cased, country upper-case, origin lower-case, all \
trimmed, an empty text is null."""
grain = ["session_id"]

[tests]
not_null = ["session_id", "created_at"]
*/
SELECT
    row.id AS session_id,
    nullIf(trimBoth(ifNull(row.profile_id, '')), '') AS profile_id,
    nullIf(trimBoth(ifNull(row.funnel_id, '')), '') AS funnel_id,
    parseDateTime64BestEffort(row.created_at, 3, 'UTC') AS created_at,
    nullIf(upper(trimBoth(ifNull(row.country, ''))), '') AS country,
    nullIf(trimBoth(ifNull(row.city, '')), '') AS city,
    nullIf(lower(trimBoth(ifNull(row.origin, ''))), '') AS origin,
    nullIf(lower(trimBoth(ifNull(row.email, ''))), '') AS email,
    nullIf(trimBoth(ifNull(row.device_id, '')), '') AS device_id,
    parseDateTime64BestEffort(row.updated_at, 3, 'UTC') AS updated_at
FROM
(
    SELECT
        JSONExtract(
            record,
            'Tuple(id String, profile_id Nullable(String), funnel_id Nullable(String), created_at String, country Nullable(String), city Nullable(String), origin Nullable(String), email Nullable(String), device_id Nullable(String), updated_at String)'
        ) AS row,
        fetched_at,
        kafka_offset
    FROM raw_funnel_sessions
    WHERE {{ landed_filter }}
)
ORDER BY session_id, updated_at DESC, fetched_at DESC, kafka_offset DESC
LIMIT 1 BY session_id
