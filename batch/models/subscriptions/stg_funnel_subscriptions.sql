/* model
kind = "table"
description = """Subscription charge attempts from raw.funnel.subscriptions, typed: the latest row of each \
(subscription, Stripe charge) (newest updated_at, then fetch time, then Kafka offset). A subscription has one row \
per charge that paid or tried to pay it; psp_id is the Stripe charge id; status is lower-case."""
grain = ["subscription_id", "psp_id"]

[tests]
not_null = ["subscription_id", "psp_id", "created_at"]
*/
SELECT
    row.id AS subscription_id,
    row.psp_id AS psp_id,
    nullIf(trimBoth(ifNull(row.profile_id, '')), '') AS profile_id,
    row.sandbox AS sandbox,
    parseDateTime64BestEffort(row.created_at, 3, 'UTC') AS created_at,
    lower(trimBoth(ifNull(row.status, ''))) AS status,
    parseDateTime64BestEffort(row.updated_at, 3, 'UTC') AS updated_at
FROM
(
    SELECT
        JSONExtract(
            record,
            'Tuple(id String, psp_id String, profile_id Nullable(String), sandbox Bool, created_at String, status Nullable(String), updated_at String)'
        ) AS row,
        fetched_at,
        kafka_offset
    FROM raw_funnel_subscriptions
    WHERE {{ landed_filter }}
)
ORDER BY subscription_id, psp_id, updated_at DESC, fetched_at DESC, kafka_offset DESC
LIMIT 1 BY subscription_id, psp_id
