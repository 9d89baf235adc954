-- Month-to-date estimated API spend and tokens per model.
SELECT
    ifNull(c.model, '(none)') AS model,
    toFloat64(sum(c.amount)) AS estimated_usd,
    any(u.tokens) AS tokens
FROM cost_events AS c FINAL
LEFT JOIN (
    SELECT model, sum(input_tokens + output_tokens + cache_creation_5m_tokens + cache_creation_1h_tokens
                      + cache_read_tokens) AS tokens
    FROM usage_events FINAL
    WHERE usage_date >= toStartOfMonth(today()) AND platform = 'anthropic_api'
    GROUP BY model
) AS u ON u.model = c.model
WHERE c.usage_date >= toStartOfMonth(today()) AND c.cost_kind = 'estimated' AND c.platform = 'anthropic_api'
GROUP BY model
ORDER BY estimated_usd DESC
LIMIT 10
