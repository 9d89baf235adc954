/* check
severity = "error"
model = "ref_pricebook"
description = "Every current price book row's unit_price is a decimal number (rows that are not price nothing)."
*/
SELECT product_code, plan_code, effective_date, unit_price_text
FROM ref_pricebook
WHERE unit_price IS NULL
