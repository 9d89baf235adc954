/* model
kind = "view"
description = """Spend month to date per (month, platform, currency): reported and estimated side by side (never \
added), active users (people with usage that month, the unattributed member excluded), and cost per active \
user of each kind. The current month is month to date; earlier months are whole."""
*/
WITH
    spend AS
    (
        SELECT
            toStartOfMonth(usage_date) AS month,
            platform,
            currency,
            sum(reported_cost) AS reported_spend_mtd,
            sum(estimated_cost) AS estimated_spend_mtd
        FROM fct_cost_daily
        WHERE usage_date <= today()
        GROUP BY month, platform, currency
    ),
    active AS
    (
        SELECT toStartOfMonth(usage_date) AS month, platform, uniqExact(user_key) AS active_users
        FROM fct_usage_daily
        WHERE usage_date <= today() AND user_key != 0
        GROUP BY month, platform
    )
SELECT
    spend.month AS month,
    spend.platform AS platform,
    dim_platforms.platform_name AS platform_name,
    dim_platforms.cost_model AS cost_model,
    spend.currency AS currency,
    spend.reported_spend_mtd AS reported_spend_mtd,
    spend.estimated_spend_mtd AS estimated_spend_mtd,
    active.active_users AS active_users,
    if(active.active_users = 0, NULL, spend.reported_spend_mtd / active.active_users) AS reported_cost_per_active_user,
    if(active.active_users = 0, NULL, spend.estimated_spend_mtd / active.active_users) AS estimated_cost_per_active_user
FROM spend
LEFT JOIN active ON active.month = spend.month AND active.platform = spend.platform
LEFT JOIN dim_platforms ON dim_platforms.platform = spend.platform
