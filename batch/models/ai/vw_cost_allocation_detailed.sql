/* model
kind = "view"
description = """Every cost row with how it reached its person: the platform and its cost model, the person's \
current dim_users version, allocation method, share and confidence, and for allocated rows the line total they \
were split from (allocated_from) and the line's whole allocation (line_allocated_total, equal to it)."""
*/
SELECT
    costs.usage_date AS usage_date,
    costs.platform AS platform,
    dim_platforms.vendor AS vendor,
    dim_platforms.cost_model AS cost_model,
    costs.cost_kind AS cost_kind,
    costs.currency AS currency,
    costs.workspace_id AS workspace_id,
    costs.model AS model,
    costs.cost_type AS cost_type,
    costs.user_key AS user_key,
    people.email AS email,
    people.name AS name,
    people.team AS team,
    costs.allocation_method AS allocation_method,
    costs.allocation_share AS allocation_share,
    costs.allocation_confidence AS allocation_confidence,
    costs.amount AS amount,
    costs.allocated_from AS allocated_from,
    if(costs.allocated_from IS NULL, NULL,
       sum(costs.amount) OVER (PARTITION BY costs.usage_date, costs.platform, costs.cost_kind, costs.currency,
                               costs.workspace_id, costs.model, costs.cost_type,
                               costs.allocated_from IS NULL)) AS line_allocated_total
FROM fact_ai_costs AS costs
LEFT JOIN dim_platforms ON dim_platforms.platform = costs.platform
LEFT JOIN (SELECT * FROM dim_users WHERE is_current) AS people ON people.user_key = costs.user_key
