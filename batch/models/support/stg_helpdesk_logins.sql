/* model
kind = "table"
description = """Customer logins from raw.helpdesk.logins, each once (a re-polled or redelivered login collapses)."""
grain = ["customer_id", "login_at"]
*/
SELECT DISTINCT
    JSONExtractString(record, 'customer_id') AS customer_id,
    parseDateTime64BestEffort(JSONExtractString(record, 'at'), 3, 'UTC') AS login_at
FROM raw_helpdesk_logins
WHERE {{ landed_filter }}
