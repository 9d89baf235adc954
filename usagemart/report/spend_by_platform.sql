-- Month-to-date spend per platform: what vendors reported and what we estimated, side by side.
SELECT
    platform,
    toFloat64(sumIf(amount, cost_kind = 'reported'))  AS reported_usd,
    toFloat64(sumIf(amount, cost_kind = 'estimated')) AS estimated_usd,
    toFloat64(sumIf(amount, cost_kind = 'reported' AND usage_date = today()))  AS reported_today_usd,
    toFloat64(sumIf(amount, cost_kind = 'estimated' AND usage_date = today())) AS estimated_today_usd
FROM cost_events FINAL
WHERE usage_date >= toStartOfMonth(today())
GROUP BY platform
ORDER BY greatest(reported_usd, estimated_usd) DESC
