/* model
kind = "table"
description = """Currencies: a closed domain, the catalog's members only. A price in a currency the catalog \
lacks is not completed here; it fails the currency data test."""
grain = ["currency_key"]

[tests]
not_null = ["currency_key", "currency_code"]
*/
SELECT
    member_key AS currency_key,
    code AS currency_code,
    name AS currency_name,
    toUInt8OrNull(attributes['minor_units']) AS minor_units,
    attributes,
    record_source,
    updated_at
FROM ref_catalog_members
WHERE catalog = 'currencies'
