/* model
kind = "view"
description = """Members of the self-completing dimensions (customers, products, plans, countries): each \
catalog's current rows; its default member (key 0, record_source 'System.DefaultMember') for unknown \
codes; and for every code usage names that the catalog lacks, a placeholder cloned from the default \
member with the code's own key and record_source 'System.DefaultKey'. Keys are cityHash64 of the \
normalized code for catalog rows and placeholders alike, so when the catalog row lands it replaces \
the placeholder under the same key and the facts are on it at once."""
*/
WITH
    defaults AS
    (
        SELECT *
        FROM VALUES('catalog String, name String, attributes Map(String, String)',
            ('customers', 'Unknown customer', map('segment', 'Unknown', 'country_code', '')),
            ('products', 'Unknown product', map('category', 'Unknown', 'unit', '')),
            ('plans', 'Unknown plan', map('tier', '')),
            ('countries', 'Unknown country', map('region', 'Unknown')))
    ),
    used AS
    (
        SELECT catalog, code, min(first_seen_at) AS first_seen_at
        FROM int__usage_codes
        GROUP BY catalog, code
    ),
    members AS
    (
        SELECT *
        FROM ref_catalog_members
        WHERE catalog IN (SELECT catalog FROM defaults)
    )
SELECT
    toString(catalog) AS catalog,
    toUInt64(0) AS member_key,
    '' AS code,
    CAST(name AS Nullable(String)) AS name,
    attributes,
    'System.DefaultMember' AS record_source,
    CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS first_seen_at,
    CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS updated_at
FROM defaults
UNION ALL
SELECT
    toString(members.catalog),
    members.member_key,
    members.code,
    members.name,
    members.attributes,
    toString(members.record_source),
    CAST(used.first_seen_at AS Nullable(DateTime64(3, 'UTC'))),
    members.updated_at
FROM members
LEFT JOIN used ON used.catalog = members.catalog AND used.code = members.code
UNION ALL
SELECT
    toString(used.catalog),
    cityHash64(used.code),
    used.code,
    CAST(defaults.name AS Nullable(String)),
    defaults.attributes,
    'System.DefaultKey',
    CAST(used.first_seen_at AS Nullable(DateTime64(3, 'UTC'))),
    CAST(NULL AS Nullable(DateTime64(3, 'UTC')))
FROM used
INNER JOIN defaults ON defaults.catalog = used.catalog
LEFT ANTI JOIN members ON members.catalog = used.catalog AND members.code = used.code
