/* model
kind = "append"
description = """The (product, plan, report_date) combinations usage has: prices are resolved for exactly \
these, so a price book change touches exactly the report dates whose usage it re-prices."""
engine = "ReplacingMergeTree"
order_by = ["product_code", "plan_code", "report_date"]
time_column = "report_date"
*/
SELECT DISTINCT product_code, plan_code, report_date
FROM stg_product_usage
