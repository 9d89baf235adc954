/* model
kind = "table"
description = """The owner of the events of each day per what identifies it (int__ai_event_keys): the email \
the event names (direct_email, 1.0); else its API key or Claude Code key name, resolved with the CURRENT \
reference data by the stream's rules (streams/attribution.py): the key's mappings (highest \
confidence, then source manual > sso > sheet > other, then latest updated_at), else the key creator's email \
(0.7), else unattributed; a key name resolves when every key of that name resolves to one person (their \
lowest confidence x 0.9). A mapping is not gated by event time, so a late mapping changes the rows of every \
day the key was used: those are the fact partitions the next batch rebuilds."""
grain = ["usage_date", "api_key_id", "api_key_name", "direct_email"]
time_column = "usage_date"

[tests]
not_null = ["usage_date", "user_email", "attribution_method"]
*/
WITH
    mappings AS
    (
        SELECT
            JSONExtractString(record, 'api_key_id') AS api_key_id,
            lower(trimBoth(JSONExtractString(record, 'user_email'))) AS user_email,
            JSONExtractString(record, 'source') AS source,
            JSONExtractFloat(record, 'confidence') AS confidence,
            parseDateTime64BestEffortOrZero(JSONExtractString(record, 'updated_at'), 3, 'UTC') AS updated_at
        FROM raw_api_key_mappings
        WHERE {{ landed_filter }}
        -- Compacted by (api_key_id, source): the newest record of each pair is the current one.
        ORDER BY api_key_id, source, fetched_at DESC, kafka_offset DESC
        LIMIT 1 BY api_key_id, source
    ),
    best_mappings AS
    (
        SELECT
            api_key_id,
            argMax(tuple(user_email, confidence),
                   (confidence, multiIf(source = 'manual', 3, source = 'sso', 2, source = 'sheet', 1, 0), updated_at))
                AS best
        FROM mappings
        WHERE user_email != ''
        GROUP BY api_key_id
    ),
    api_keys AS
    (
        SELECT
            JSONExtractString(record, 'id') AS api_key_id,
            JSONExtractString(record, 'name') AS name,
            JSONExtractString(record, 'created_by_id') AS created_by_id,
            JSONExtractString(record, 'created_by_type') AS created_by_type
        FROM raw_anthropic_api_keys
        WHERE {{ landed_filter }}
        ORDER BY api_key_id, fetched_at DESC, kafka_offset DESC
        LIMIT 1 BY api_key_id
    ),
    users AS
    (
        SELECT
            JSONExtractString(record, 'id') AS user_id,
            lower(trimBoth(JSONExtractString(record, 'email'))) AS email
        FROM raw_anthropic_users
        WHERE {{ landed_filter }}
        ORDER BY user_id, fetched_at DESC, kafka_offset DESC
        LIMIT 1 BY user_id
    ),
    creators AS
    (
        SELECT api_keys.api_key_id AS api_key_id, users.email AS email
        FROM api_keys
        INNER JOIN users ON users.user_id = api_keys.created_by_id
        WHERE api_keys.created_by_type = 'user' AND users.email != ''
    ),
    key_owners AS
    (
        SELECT
            ids.api_key_id AS api_key_id,
            multiIf(mapped.api_key_id != '', mapped.best.1, creators.email) AS user_email,
            multiIf(mapped.api_key_id != '', 'api_key_mapping', creators.email != '', 'api_key_creator',
                    'unattributed') AS attribution_method,
            toFloat32(multiIf(mapped.api_key_id != '', mapped.best.2, creators.email != '', 0.7, 0.0))
                AS attribution_confidence
        FROM (SELECT api_key_id FROM mappings UNION DISTINCT SELECT api_key_id FROM api_keys) AS ids
        LEFT JOIN best_mappings AS mapped ON mapped.api_key_id = ids.api_key_id
        LEFT JOIN creators ON creators.api_key_id = ids.api_key_id
    ),
    name_owners AS
    (
        -- A name shared by keys of different people (or by a key nobody owns) names nobody: charging a
        -- namesake is worse than leaving the cost to allocation.
        SELECT
            api_keys.name AS api_key_name,
            any(key_owners.user_email) AS user_email,
            toFloat32(min(key_owners.attribution_confidence) * 0.9) AS attribution_confidence
        FROM api_keys
        INNER JOIN key_owners ON key_owners.api_key_id = api_keys.api_key_id
        WHERE api_keys.name != ''
        GROUP BY api_keys.name
        HAVING uniqExact(key_owners.user_email) = 1 AND countIf(key_owners.user_email = '') = 0
    ),
    days AS
    (
        SELECT DISTINCT usage_date, api_key_id, api_key_name, direct_email
        FROM int__ai_event_keys
    )
SELECT
    days.usage_date AS usage_date,
    days.api_key_id AS api_key_id,
    days.api_key_name AS api_key_name,
    days.direct_email AS direct_email,
    key_owners.user_email AS user_email,
    if(key_owners.attribution_method = '', 'unattributed', key_owners.attribution_method) AS attribution_method,
    key_owners.attribution_confidence AS attribution_confidence
FROM days
LEFT JOIN key_owners ON key_owners.api_key_id = days.api_key_id
WHERE days.api_key_id != ''
UNION ALL
SELECT
    days.usage_date,
    days.api_key_id,
    days.api_key_name,
    days.direct_email,
    name_owners.user_email,
    if(name_owners.user_email = '', 'unattributed', 'api_key_name'),
    name_owners.attribution_confidence
FROM days
LEFT JOIN name_owners ON name_owners.api_key_name = days.api_key_name
WHERE days.api_key_id = '' AND days.api_key_name != ''
UNION ALL
SELECT
    usage_date,
    api_key_id,
    api_key_name,
    direct_email,
    direct_email,
    if(direct_email = '', 'unattributed', 'direct_email'),
    toFloat32(direct_email != '')
FROM days
WHERE api_key_id = '' AND api_key_name = ''
