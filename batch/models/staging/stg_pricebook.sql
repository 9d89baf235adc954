/* model
kind = "append"
description = """Price book rows as they landed from ref.pricebook, typed. plan_code '' is the product's price \
for every plan (the price book says so with an empty, '*' or null plan); a null currency means \
DEFAULT_BILLING_CURRENCY. A merge keeps the newest fetch of each (product, plan, effective date)."""
engine = "ReplacingMergeTree(fetched_at)"
order_by = ["product_code", "plan_code", "effective_date"]
*/
SELECT
    upper(trimBoth(JSONExtractString(record, 'product_code'))) AS product_code,
    replaceRegexpOne(upper(trimBoth(JSONExtractString(record, 'plan_code'))), '^\\*$', '') AS plan_code,
    toDate(JSONExtractString(record, 'effective_date')) AS effective_date,
    JSONExtractString(record, 'unit_price') AS unit_price_text,
    toDecimal128OrNull(unit_price_text, 12) AS unit_price,
    nullIf(upper(trimBoth(ifNull(JSONExtract(record, 'currency_code', 'Nullable(String)'), ''))), '') AS currency_code,
    fetched_at,
    kafka_partition,
    kafka_offset
FROM raw_pricebook
WHERE {{ landed_filter }}
