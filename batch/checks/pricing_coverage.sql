/* check
severity = "error"
model = "fact_usage"
description = """At least 95% of the fact rows of the last 7 report dates (ending at the latest one) have a \
price; when fewer do, the unpriced usage per product and plan."""
*/
WITH
    (SELECT max(report_date) - 6 FROM fact_usage) AS first_day,
    (
        SELECT countIf(unit_price IS NOT NULL) / count()
        FROM fact_usage
        WHERE report_date >= (SELECT max(report_date) - 6 FROM fact_usage)
    ) AS coverage
SELECT
    product_code,
    plan_code,
    min(report_date) AS first_unpriced_day,
    max(report_date) AS last_unpriced_day,
    count() AS unpriced_rows,
    round(coverage * 100, 2) AS coverage_percent
FROM int__fact_usage_priced
WHERE report_date >= first_day
  AND unit_price IS NULL
  AND coverage < 0.95
GROUP BY product_code, plan_code
