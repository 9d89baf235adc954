/* model
kind = "table"
description = """Product events from raw.funnel.product_events, each once (an event has no id: its Kafka key, every \
field, identifies it, so a re-polled or redelivered event collapses). email is lower-cased and trimmed; an empty \
identifier is null."""
grain = ["event_key"]

[tests]
not_null = ["event_key", "event_type", "event_at"]
*/
SELECT
    natural_key AS event_key,
    lower(trimBoth(row.event_type)) AS event_type,
    parseDateTime64BestEffort(row.time, 3, 'UTC') AS event_at,
    nullIf(trimBoth(ifNull(row.user_id, '')), '') AS user_id,
    nullIf(lower(trimBoth(ifNull(row.email, ''))), '') AS email,
    nullIf(trimBoth(ifNull(row.device_id, '')), '') AS device_id
FROM
(
    SELECT
        JSONExtract(
            record, 'Tuple(user_id Nullable(String), email Nullable(String), device_id Nullable(String), event_type String, time String)'
        ) AS row,
        natural_key,
        fetched_at,
        kafka_offset
    FROM raw_funnel_product_events
    WHERE {{ landed_filter }}
)
ORDER BY event_key, fetched_at DESC, kafka_offset DESC
LIMIT 1 BY event_key
