/* model
kind = "table"
description = """The price of each (product, plan, report_date) usage has: the last unit price effective on \
or before the report date among the plan's own prices, else among the product's prices for every \
plan; the currency is the price's, else DEFAULT_BILLING_CURRENCY. A combination without any \
effective price has no row. Rebuilt whole (it is small); the report dates whose rows changed are \
the fact partitions a price book change re-prices."""
grain = ["product_code", "plan_code", "report_date"]
time_column = "report_date"
*/
SELECT
    days.product_code AS product_code,
    days.plan_code AS plan_code,
    days.report_date AS report_date,
    CAST(prices.unit_price AS Nullable(Decimal(38, 12))) AS unit_price,
    CAST(ifNull(prices.currency_code, {{ default_billing_currency }}) AS Nullable(String)) AS currency_code,
    prices.effective_date AS effective_date,
    prices.plan_code = '' AS for_every_plan
FROM (SELECT DISTINCT product_code, plan_code, report_date FROM int__usage_product_plan_days) AS days
INNER JOIN ref_pricebook AS prices ON prices.product_code = days.product_code
WHERE prices.plan_code IN ('', days.plan_code)
  AND prices.effective_date <= days.report_date
ORDER BY product_code, plan_code, report_date, for_every_plan, effective_date DESC
LIMIT 1 BY product_code, plan_code, report_date
