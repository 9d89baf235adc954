-- Which of the given alert ids are already recorded as sent.
SELECT alert_id
FROM alerts
WHERE alert_id IN {alert_ids:Array(String)}
