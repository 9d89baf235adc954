-- The latest budget alerts sent.
SELECT
    fired_at,
    budget_id AS budget,
    toString(cost_kind) AS kind,
    threshold_pct,
    toFloat64(spend_amount) AS spend_usd,
    toFloat64(budget_amount) AS budget_usd
FROM alerts FINAL
ORDER BY fired_at DESC, budget, kind, threshold_pct DESC
LIMIT 8
