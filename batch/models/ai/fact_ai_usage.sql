/* model
kind = "incremental_by_partition"
description = """AI tool usage per (usage_date, platform, user_key, model, attribution_method), re-attributed \
with the current key mappings (int__ai_attribution): an event naming an API key or key name takes its owner \
as resolved today, an event naming its person (direct_email) keeps it. user_key is cityHash64 of the \
lowercased email, 0 for the unattributed member; model is '' for activity rows (Claude Code sessions and lines, \
Cursor daily requests and lines). lines_added / lines_removed are the lines the person kept (Cursor's accepted \
lines; Claude Code's lines); lines_suggested adds what Cursor proposed and was not kept. Monthly partitions, \
like the events."""
grain = ["usage_date", "platform", "user_key", "model", "attribution_method"]
order_by = ["usage_date", "platform", "user_key", "model"]
partition_by = "toYYYYMM(usage_date)"
time_column = "usage_date"

[tests]
not_null = ["usage_date", "platform", "user_key", "model"]

[tests.relationships]
user_key = "dim_users.user_key"
platform = "dim_platforms.platform"
*/
SELECT
    usage_date,
    platform,
    if(user_email = '', toUInt64(0), cityHash64(user_email)) AS user_key,
    user_email,
    model,
    attribution_method,
    min(attribution_confidence) AS attribution_confidence,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cache_creation_5m_tokens + cache_creation_1h_tokens) AS cache_creation_tokens,
    sum(cache_read_tokens) AS cache_read_tokens,
    input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens AS total_tokens,
    sum(requests) AS requests,
    sum(web_search_requests) AS web_search_requests,
    sum(sessions) AS sessions,
    sum(lines_added) AS lines_added,
    sum(lines_removed) AS lines_removed,
    sum(suggested) AS lines_suggested,
    count() AS events
FROM
(
    SELECT
        events.* EXCEPT (user_email, attribution_method, attribution_confidence),
        greatest(events.lines_added, toUInt64OrZero(events.attributes['totalLinesAdded'])) AS suggested,
        -- An event that landed after the watermark has no resolved owner yet: the stream's stands until the
        -- next batch.
        owner.attribution_method = '' AS unresolved,
        unresolved ? ifNull(events.user_email, '') : owner.user_email AS user_email,
        unresolved ? events.attribution_method : owner.attribution_method AS attribution_method,
        unresolved ? events.attribution_confidence : owner.attribution_confidence AS attribution_confidence
    FROM
    (
        SELECT * EXCEPT (model), ifNull(model, '') AS model
        FROM usage_events FINAL
        WHERE {{ partition_filter }}
    ) AS events
    LEFT JOIN int__ai_attribution AS owner
        ON owner.usage_date = events.usage_date
       AND owner.api_key_id = if(events.attribution_method = 'direct_email', '', ifNull(events.api_key_id, ''))
       AND owner.api_key_name = if(events.attribution_method = 'direct_email' OR events.api_key_id IS NOT NULL, '',
                                   events.attributes['api_key_name'])
       AND owner.direct_email = if(events.attribution_method = 'direct_email', ifNull(events.user_email, ''), '')
)
GROUP BY usage_date, platform, user_email, model, attribution_method
