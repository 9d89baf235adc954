-- Month-to-date spend per attributed person (reported where the vendor bills per person, else estimated).
SELECT
    ifNull(user_email, '(unattributed)') AS person,
    toFloat64(sumIf(amount, cost_kind = 'reported'))  AS reported_usd,
    toFloat64(sumIf(amount, cost_kind = 'estimated')) AS estimated_usd,
    groupUniqArray(platform) AS platforms
FROM cost_events FINAL
WHERE usage_date >= toStartOfMonth(today())
GROUP BY person
ORDER BY greatest(reported_usd, estimated_usd) DESC
LIMIT 10
