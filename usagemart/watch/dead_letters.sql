-- Dead letters per stage and source topic: all, the last hour, the last day, the newest.
SELECT
    toString(stage) AS stage,
    toString(source_topic) AS topic,
    count() AS records,
    countIf(failed_at > now() - INTERVAL 1 HOUR) AS last_hour,
    countIf(failed_at > now() - INTERVAL 1 DAY) AS last_24h,
    max(failed_at) AS last_failed_at
FROM dlq_records FINAL
GROUP BY stage, topic
ORDER BY last_failed_at DESC
LIMIT 10
