/* check
severity = "warn"
model = "stg_product_usage"
description = """Usage rows with a status other than OPEN or CLOSED: refined usage keeps a key only while its \
latest row is OPEN, so these are left out of the facts."""
*/
SELECT
    status,
    count() AS rows,
    min(report_date) AS first_day,
    max(report_date) AS last_day
FROM stg_product_usage
WHERE status NOT IN ('OPEN', 'CLOSED')
GROUP BY status
