/* model
kind = "incremental_by_partition"
description = """Daily AI usage per (usage_date, user_key, platform), rolled up from fact_ai_usage over models \
and attribution methods."""
grain = ["usage_date", "user_key", "platform"]
partition_by = "toYYYYMM(usage_date)"
time_column = "usage_date"

[tests]
not_null = ["usage_date", "user_key", "platform"]

[tests.relationships]
user_key = "dim_users.user_key"
platform = "dim_platforms.platform"
*/
SELECT
    usage_date,
    user_key,
    platform,
    any(user_email) AS user_email,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cache_creation_tokens) AS cache_creation_tokens,
    sum(cache_read_tokens) AS cache_read_tokens,
    sum(total_tokens) AS total_tokens,
    sum(requests) AS requests,
    sum(web_search_requests) AS web_search_requests,
    sum(sessions) AS sessions,
    sum(lines_added) AS lines_added,
    sum(lines_removed) AS lines_removed,
    sum(lines_suggested) AS lines_suggested,
    groupUniqArray(model) AS models
FROM fact_ai_usage
WHERE {{ partition_filter }}
GROUP BY usage_date, user_key, platform
