/* model
kind = "table"
description = """Support tickets from raw.helpdesk.tickets, cleaned: the latest row of each ticket (newest \
updated_at, then fetch time, then Kafka offset); category, root_cause, severity, channel and status trimmed and \
lower-cased (a missing category or root cause is 'unknown'); app_version trimmed, without a leading 'v'; subject \
trimmed; satisfaction_score kept only within 1-5 (else null). \
is_resolved = status is 'resolved' or 'closed'. resolution_hours = (resolved_at - created_at) in hours, for a \
resolved ticket whose resolved_at is not before created_at (else null). resolution_speed = 'fast' under 24 h, \
'normal' from 24 h to 72 h, 'slow' over 72 h, 'unresolved' while not resolved, 'unknown' when resolved without a \
valid resolved_at. satisfaction_level = 'satisfied' (4-5), 'neutral' (3), 'dissatisfied' (1-2), 'not_rated'."""
grain = ["ticket_id"]

[tests]
not_null = ["ticket_id", "created_at", "category", "root_cause", "status", "resolution_speed", "satisfaction_level"]
*/
SELECT
    row.id AS ticket_id,
    nullIf(trimBoth(ifNull(row.customer_id, '')), '') AS customer_id,
    nullIf(trimBoth(ifNull(row.product_id, '')), '') AS product_id,
    if(empty(clean_category), 'unknown', clean_category) AS category,
    if(empty(clean_root_cause), 'unknown', clean_root_cause) AS root_cause,
    nullIf(lower(trimBoth(ifNull(row.severity, ''))), '') AS severity,
    nullIf(lower(trimBoth(ifNull(row.channel, ''))), '') AS channel,
    lower(trimBoth(ifNull(row.status, ''))) AS status,
    parseDateTime64BestEffort(row.created_at, 3, 'UTC') AS created_at,
    parseDateTime64BestEffortOrNull(row.resolved_at, 3, 'UTC') AS resolved_at,
    if(row.satisfaction_score BETWEEN 1 AND 5, toNullable(toUInt8(assumeNotNull(row.satisfaction_score))), NULL)
        AS satisfaction_score,
    nullIf(replaceRegexpOne(trimBoth(ifNull(row.app_version, '')), '^[vV]', ''), '') AS app_version,
    trimBoth(ifNull(row.subject, '')) AS subject,
    parseDateTime64BestEffort(row.updated_at, 3, 'UTC') AS updated_at,
    status IN ('resolved', 'closed') AS is_resolved,
    if(is_resolved AND resolved_at >= created_at, dateDiff('second', created_at, resolved_at) / 3600, NULL)
        AS resolution_hours,
    multiIf(NOT is_resolved, 'unresolved', resolution_hours IS NULL, 'unknown', resolution_hours < 24, 'fast',
            resolution_hours <= 72, 'normal', 'slow') AS resolution_speed,
    multiIf(satisfaction_score IS NULL, 'not_rated', satisfaction_score >= 4, 'satisfied', satisfaction_score = 3,
            'neutral', 'dissatisfied') AS satisfaction_level
FROM
(
    SELECT
        JSONExtract(
            record,
            'Tuple(id String, customer_id Nullable(String), product_id Nullable(String), category Nullable(String), root_cause Nullable(String), severity Nullable(String), channel Nullable(String), status Nullable(String), created_at String, resolved_at Nullable(String), satisfaction_score Nullable(Int64), app_version Nullable(String), subject Nullable(String), updated_at String)'
        ) AS row,
        lower(trimBoth(ifNull(row.category, ''))) AS clean_category,
        lower(trimBoth(ifNull(row.root_cause, ''))) AS clean_root_cause,
        fetched_at,
        kafka_offset
    FROM raw_helpdesk_tickets
    WHERE {{ landed_filter }}
)
ORDER BY ticket_id, updated_at DESC, fetched_at DESC, kafka_offset DESC
LIMIT 1 BY ticket_id
