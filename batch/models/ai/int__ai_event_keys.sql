/* model
kind = "append"
description = """What identifies the owner of the usage and cost events of each day: the email the record itself \
names (direct_email), else the API key, else the Claude Code key name (api_actor). The landing of an event \
touches its usage_date, and int__ai_attribution resolves the owners of exactly these days."""
engine = "ReplacingMergeTree"
order_by = ["usage_date", "api_key_id", "api_key_name", "direct_email"]
time_column = "usage_date"
*/
WITH attribution_method = 'direct_email' AS direct
SELECT DISTINCT
    usage_date,
    direct ? '' : ifNull(api_key_id, '') AS api_key_id,
    direct OR api_key_id IS NOT NULL ? '' : attributes['api_key_name'] AS api_key_name,
    direct ? ifNull(user_email, '') : '' AS direct_email
FROM
(
    SELECT usage_date, api_key_id, attributes, attribution_method, user_email
    FROM usage_events
    WHERE {{ landed_filter }}
    UNION ALL
    SELECT usage_date, api_key_id, attributes, attribution_method, user_email
    FROM cost_events
    WHERE {{ landed_filter }}
)
