/* model
kind = "incremental_by_partition"
description = """Daily AI cost per (usage_date, user_key, platform, currency), from fact_ai_costs. Reported and \
estimated amounts are separate columns and never added together; reported_cost splits into direct, allocated \
by workspace usage share, and unallocated (user_key 0)."""
grain = ["usage_date", "user_key", "platform", "currency"]
partition_by = "toYYYYMM(usage_date)"
time_column = "usage_date"

[tests]
not_null = ["usage_date", "user_key", "platform", "currency"]

[tests.relationships]
user_key = "dim_users.user_key"
platform = "dim_platforms.platform"
*/
SELECT
    usage_date,
    user_key,
    platform,
    currency,
    any(user_email) AS user_email,
    sumIf(amount, cost_kind = 'reported') AS reported_cost,
    sumIf(amount, cost_kind = 'reported' AND allocation_method = 'direct') AS reported_direct_cost,
    sumIf(amount, cost_kind = 'reported' AND allocation_method = 'workspace_usage_share') AS reported_allocated_cost,
    sumIf(amount, cost_kind = 'reported' AND allocation_method = 'unallocated') AS reported_unallocated_cost,
    sumIf(amount, cost_kind = 'estimated') AS estimated_cost
FROM fact_ai_costs
WHERE {{ partition_filter }}
GROUP BY usage_date, user_key, platform, currency
