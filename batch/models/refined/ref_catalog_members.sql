/* model
kind = "view"
description = """Current catalog members: the newest landed row of each (catalog, code), by fetch time then \
Kafka offset. member_key is a function of the code alone (as every dimension key is), so the catalog \
row and any placeholder made before it landed share it."""
*/
SELECT
    catalog,
    code,
    cityHash64(code) AS member_key,
    name,
    attributes,
    updated_at,
    record_source
FROM stg_catalog_members
ORDER BY catalog, code, fetched_at DESC, kafka_offset DESC
LIMIT 1 BY catalog, code
