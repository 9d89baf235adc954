/* model
kind = "view"
description = """Per person and month (the unattributed member included, so totals reconcile): sessions, \
lines (suggested), accepted lines (kept), requests, tokens, reported and estimated cost (separately), and each \
kind's cost per accepted line. Names and teams are the people's current dim_users version."""
*/
WITH
    usage AS
    (
        SELECT
            toStartOfMonth(usage_date) AS month,
            user_key,
            sum(sessions) AS sessions,
            sum(lines_suggested) AS lines,
            sum(lines_added) AS accepted_lines,
            sum(requests) AS requests,
            sum(total_tokens) AS tokens
        FROM fct_usage_daily
        GROUP BY month, user_key
    ),
    cost AS
    (
        SELECT
            toStartOfMonth(usage_date) AS month,
            user_key,
            currency,
            sum(reported_cost) AS reported_cost,
            sum(estimated_cost) AS estimated_cost
        FROM fct_cost_daily
        GROUP BY month, user_key, currency
    )
SELECT
    month,
    user_key,
    people.email AS email,
    people.name AS name,
    people.team AS team,
    usage.sessions AS sessions,
    usage.lines AS lines,
    usage.accepted_lines AS accepted_lines,
    usage.requests AS requests,
    usage.tokens AS tokens,
    cost.currency AS currency,
    cost.reported_cost AS reported_cost,
    cost.estimated_cost AS estimated_cost,
    if(usage.accepted_lines = 0, NULL, cost.reported_cost / usage.accepted_lines) AS reported_cost_per_line,
    if(usage.accepted_lines = 0, NULL, cost.estimated_cost / usage.accepted_lines) AS estimated_cost_per_line
FROM usage
FULL JOIN cost USING (month, user_key)
LEFT JOIN (SELECT user_key, email, name, team FROM dim_users WHERE is_current) AS people USING (user_key)
