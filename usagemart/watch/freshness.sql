-- Per landed topic: how long ago its poller last fetched, and for event topics how far the newest event
-- is behind now (the `source_freshness` view).
SELECT topic, last_fetched_at, fetch_age_s, last_event_at, event_lag_s
FROM source_freshness
ORDER BY topic
