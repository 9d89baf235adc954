/* check
severity = "error"
model = "dim_currency"
description = """Every currency a price resolves to (the price's own, or DEFAULT_BILLING_CURRENCY) is in \
the currency catalog: currencies are a closed domain and an unknown one is never completed."""
*/
SELECT
    currency_code,
    product_code,
    plan_code,
    min(report_date) AS first_day,
    max(report_date) AS last_day
FROM int__resolved_prices
WHERE currency_code NOT IN (SELECT currency_code FROM dim_currency)
GROUP BY currency_code, product_code, plan_code
