-- Threshold crossings: a budget's spend of one cost kind in a month at or above one of its thresholds, for
-- the months late data can still change: the current one, and the previous one while today is within
-- late_days days of its end (vendors restate trailing days).
SELECT
    budget_id,
    scope,
    scope_value,
    owner_email,
    month,
    toString(cost_kind) AS cost_kind,
    threshold_pct,
    monthly_amount AS budget_amount,
    spend AS spend_amount,
    currency
FROM budget_spend
ARRAY JOIN thresholds_pct AS threshold_pct
WHERE month >= toStartOfMonth(today() - {late_days:UInt16})
  AND spend * 100 >= monthly_amount * threshold_pct
ORDER BY budget_id, month, cost_kind, threshold_pct
