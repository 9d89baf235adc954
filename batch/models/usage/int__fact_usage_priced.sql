/* model
kind = "view"
description = """Refined usage priced: the dimension keys, the resolved unit price and currency, and the \
values (billed = units_used x unit_price, included = least(units_used, included_units) x unit_price, \
overage = overage_units x unit_price, overage_share = overage / billed, 0 when billed is 0). \
Unpriced rows keep null price, currency and values."""
*/
SELECT
    -- No code ('') is each dimension's default (unknown) member, key 0.
    if(usage.customer_code = '', 0, cityHash64(usage.customer_code)) AS customer_key,
    if(usage.product_code = '', 0, cityHash64(usage.product_code)) AS product_key,
    if(usage.plan_code = '', 0, cityHash64(usage.plan_code)) AS plan_key,
    usage.report_date AS report_date,
    if(usage.country_code = '', 0, cityHash64(usage.country_code)) AS country_key,
    cityHash64(prices.currency_code) AS currency_key,
    usage.customer_code AS customer_code,
    usage.product_code AS product_code,
    usage.plan_code AS plan_code,
    usage.country_code AS country_code,
    prices.currency_code AS currency_code,
    usage.units_used AS units_used,
    usage.included_units AS included_units,
    usage.overage_units AS overage_units,
    prices.unit_price AS unit_price,
    -- Units are doubles upstream; money is decimal from here on.
    CAST(toDecimal128(usage.units_used, 6) * prices.unit_price AS Nullable(Decimal(38, 12))) AS billed_value,
    CAST(toDecimal128(least(usage.units_used, usage.included_units), 6) * prices.unit_price
        AS Nullable(Decimal(38, 12))) AS included_value,
    CAST(toDecimal128(usage.overage_units, 6) * prices.unit_price AS Nullable(Decimal(38, 12))) AS overage_value,
    if(billed_value = 0, 0, toFloat64(overage_value) / toFloat64(billed_value)) AS overage_share
FROM int__usage_refined AS usage
LEFT JOIN int__resolved_prices AS prices
    ON prices.product_code = usage.product_code
   AND prices.plan_code = usage.plan_code
   AND prices.report_date = usage.report_date
