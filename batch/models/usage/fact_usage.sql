/* model
kind = "incremental_by_partition"
description = """Product usage at grain (customer, product, plan, report_date), priced. One partition per \
report date: a batch replaces the dates whose usage landed or whose prices changed."""
grain = ["customer_key", "product_key", "plan_key", "report_date"]
order_by = ["customer_key", "product_key", "plan_key"]
partition_by = "report_date"
time_column = "report_date"

[tests]
not_null = ["customer_key", "product_key", "plan_key", "report_date", "country_key"]

[tests.relationships]
customer_key = "dim_customer.customer_key"
product_key = "dim_product.product_key"
plan_key = "dim_plan.plan_key"
country_key = "dim_country.country_key"
currency_key = "dim_currency.currency_key"
*/
SELECT
    customer_key,
    product_key,
    plan_key,
    report_date,
    country_key,
    currency_key,
    units_used,
    included_units,
    overage_units,
    unit_price,
    billed_value,
    included_value,
    overage_value,
    overage_share
FROM int__fact_usage_priced
WHERE {{ partition_filter }}
