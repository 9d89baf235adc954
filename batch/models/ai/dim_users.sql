/* model
kind = "table"
description = """People, as a type-2 slowly changing dimension built from every landed version of Anthropic \
users, Cursor members and API key mappings. user_key is durable (cityHash64 of the lowercased email, the \
facts' key); a version starts (valid_from) when a landed record changed what we know of the person, and is \
current until the next (valid_to null). Each attribute comes from the highest-precedence source that has it \
as of valid_from: anthropic_users > cursor_members > api_key_mappings (the organization directory is the \
identity record; a mapping only says the person exists). sources lists the sources knowing the person then. \
An email the facts name that no source knows gets one row with sources ['events']; user_key 0 is the \
unattributed member."""
grain = ["user_key", "valid_from"]

[tests]
not_null = ["user_key", "email", "valid_from", "is_current"]
*/
WITH
    records AS
    (
        SELECT
            'anthropic_users' AS source,
            3 AS precedence,
            lower(trimBoth(JSONExtractString(record, 'email'))) AS email,
            JSONExtract(record, 'name', 'Nullable(String)') AS name,
            JSONExtract(record, 'role', 'Nullable(String)') AS role,
            CAST(NULL AS Nullable(String)) AS team,
            fetched_at,
            kafka_offset
        FROM raw_anthropic_users
        WHERE {{ landed_filter }}
        UNION ALL
        SELECT
            'cursor_members',
            2,
            lower(trimBoth(JSONExtractString(record, 'email'))),
            JSONExtract(record, 'name', 'Nullable(String)'),
            JSONExtract(record, 'role', 'Nullable(String)'),
            -- Not in the contract: kept in the vendor's raw object when the team API sends it.
            nullIf(JSONExtractString(JSONExtractString(record, 'raw_json'), 'team'), ''),
            fetched_at,
            kafka_offset
        FROM raw_cursor_members
        WHERE {{ landed_filter }}
        UNION ALL
        SELECT
            'api_key_mappings',
            1,
            lower(trimBoth(JSONExtractString(record, 'user_email'))),
            NULL,
            NULL,
            NULL,
            fetched_at,
            kafka_offset
        FROM raw_api_key_mappings
        WHERE {{ landed_filter }}
    ),
    states AS
    (
        -- As of each instant a record landed, the newest record of each source then.
        SELECT
            changes.email AS email,
            changes.valid_from AS valid_from,
            records.source AS source,
            argMax(tuple(records.precedence, records.name, records.role, records.team),
                   (records.fetched_at, records.kafka_offset)) AS latest
        FROM (SELECT DISTINCT email, fetched_at AS valid_from FROM records WHERE email != '') AS changes
        INNER JOIN records ON records.email = changes.email
        WHERE records.fetched_at <= changes.valid_from
        GROUP BY email, valid_from, source
    ),
    snapshots AS
    (
        SELECT
            email,
            valid_from,
            argMaxIf(latest.2, latest.1, latest.2 IS NOT NULL) AS name,
            argMaxIf(latest.3, latest.1, latest.3 IS NOT NULL) AS role,
            argMaxIf(latest.4, latest.1, latest.4 IS NOT NULL) AS team,
            arraySort(groupArray(source)) AS sources
        FROM states
        GROUP BY email, valid_from
    ),
    versions AS
    (
        -- A landing that changed nothing (a re-poll) starts no version.
        SELECT *
        FROM
        (
            SELECT
                *,
                lagInFrame(tuple(name, role, team, sources), 1, tuple(NULL, NULL, NULL, ['']))
                    OVER (PARTITION BY email ORDER BY valid_from ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS before
            FROM snapshots
        )
        WHERE tuple(name, role, team, sources) != before
    ),
    known AS
    (
        SELECT
            email,
            name,
            role,
            team,
            sources,
            valid_from,
            nullIf(leadInFrame(valid_from, 1, toDateTime64(0, 3, 'UTC')) OVER (PARTITION BY email ORDER BY valid_from
                   ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING), toDateTime64(0, 3, 'UTC')) AS valid_to
        FROM versions
    ),
    named_by_facts AS
    (
        SELECT email, min(first_day) AS first_day
        FROM
        (
            SELECT direct_email AS email, usage_date AS first_day FROM int__ai_event_keys
            UNION ALL
            SELECT user_email, usage_date FROM int__ai_attribution
        )
        WHERE email != ''
        GROUP BY email
    )
SELECT
    cityHash64(email) AS user_key,
    email,
    name,
    role,
    team,
    valid_from,
    valid_to,
    valid_to IS NULL AS is_current,
    sources
FROM known
UNION ALL
SELECT
    cityHash64(email),
    email,
    NULL,
    NULL,
    NULL,
    toDateTime64(first_day, 3, 'UTC'),
    NULL,
    1,
    ['events']
FROM named_by_facts
WHERE email NOT IN (SELECT email FROM known)
UNION ALL
SELECT 0, '', 'Unattributed', NULL, NULL, toDateTime64(0, 3, 'UTC'), NULL, 1, ['System.Unattributed']
