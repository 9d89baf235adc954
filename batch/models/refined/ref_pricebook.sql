/* model
kind = "view"
description = """Current price book: the newest landed row of each (product, plan, effective date), by fetch \
time then Kafka offset. plan_code '' prices the product for every plan; a null currency_code means \
DEFAULT_BILLING_CURRENCY; a null unit_price is text that is not a decimal (see unit_price_text)."""
*/
SELECT
    product_code,
    plan_code,
    effective_date,
    unit_price,
    unit_price_text,
    currency_code
FROM stg_pricebook
ORDER BY product_code, plan_code, effective_date, fetched_at DESC, kafka_offset DESC
LIMIT 1 BY product_code, plan_code, effective_date
