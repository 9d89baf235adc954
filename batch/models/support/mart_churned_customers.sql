/* model
kind = "table"
description = """Churn per helpdesk customer (every customer the customers, logins or tickets name), as of the data's \
present: as_of = the newest login or ticket creation landed, so a stalled feed does not churn everyone. Windows are \
(as_of - N days, as_of]. logins_30d, logins_90d; churned_30d / churned_90d = no login in the last 30 / 90 days; \
days_since_last_login (whole days; null if never). Tickets: open_tickets (not resolved, any age), \
tickets_90d, high_severity_tickets_90d (high or critical), rated_tickets_90d, dissatisfied_tickets_90d \
(score 1-2), avg_satisfaction_90d. \
churn_risk_score (0-100) = inactivity (40 if no login in 90 days, else 25 if none in 30 days, else 10 if the last \
login is 14 or more days old, else 0) + decline (when logins_90d > 0: 20 x max(0, 1 - logins_30d / (logins_90d / \
3)), the last 30 days against the 90-day monthly average) + support (min(15, 5 x open_tickets) + min(10, 5 x \
high_severity_tickets_90d)) + dissatisfaction (when rated_tickets_90d > 0: 15 x dissatisfied_tickets_90d / \
rated_tickets_90d), rounded to 0.1. risk_level = 'critical' from 70, 'high' from 50, 'medium' from 25, else 'low'. \
clv as reported (USD); clv_at_risk = clv x score / 100; estimated_clv = clv x (1 - score / 100), the \
risk-adjusted CLV; both rounded to cents."""
grain = ["customer_id"]

[tests]
not_null = ["customer_id", "as_of", "churn_risk_score", "risk_level"]
*/
WITH
    (
        SELECT greatest((SELECT max(login_at) FROM stg_helpdesk_logins), (SELECT max(created_at) FROM stg_tickets))
    ) AS as_of,
    known AS
    (
        SELECT customer_id FROM stg_helpdesk_customers
        UNION DISTINCT SELECT customer_id FROM stg_helpdesk_logins
        UNION DISTINCT SELECT assumeNotNull(customer_id) FROM stg_tickets WHERE customer_id IS NOT NULL
    ),
    logins AS
    (
        SELECT
            customer_id,
            toNullable(max(login_at)) AS last_login_at,
            countIf(login_at > as_of - INTERVAL 30 DAY) AS logins_30d,
            countIf(login_at > as_of - INTERVAL 90 DAY) AS logins_90d
        FROM stg_helpdesk_logins
        GROUP BY customer_id
    ),
    tickets AS
    (
        SELECT
            assumeNotNull(customer_id) AS customer_id,
            countIf(NOT is_resolved) AS open_tickets,
            countIf(recent) AS tickets_90d,
            countIf(recent AND severity IN ('high', 'critical')) AS high_severity_tickets_90d,
            countIf(recent AND satisfaction_score IS NOT NULL) AS rated_tickets_90d,
            countIf(recent AND satisfaction_level = 'dissatisfied') AS dissatisfied_tickets_90d,
            avgIf(satisfaction_score, recent) AS avg_satisfaction_90d
        FROM
        (
            SELECT *, created_at > as_of - INTERVAL 90 DAY AS recent
            FROM stg_tickets
            WHERE customer_id IS NOT NULL
        )
        GROUP BY customer_id
    ),
    signals AS
    (
        SELECT
            known.customer_id AS customer_id,
            logins.last_login_at AS last_login_at,
            intDiv(dateDiff('second', last_login_at, as_of), 86400) AS days_since_last_login,
            logins.logins_30d AS logins_30d,
            logins.logins_90d AS logins_90d,
            tickets.open_tickets AS open_tickets,
            tickets.tickets_90d AS tickets_90d,
            tickets.high_severity_tickets_90d AS high_severity_tickets_90d,
            tickets.rated_tickets_90d AS rated_tickets_90d,
            tickets.dissatisfied_tickets_90d AS dissatisfied_tickets_90d,
            tickets.avg_satisfaction_90d AS avg_satisfaction_90d
        FROM known
        LEFT JOIN logins ON logins.customer_id = known.customer_id
        LEFT JOIN tickets ON tickets.customer_id = known.customer_id
    ),
    scored AS
    (
        SELECT
            *,
            multiIf(logins_90d = 0, 40, logins_30d = 0, 25, days_since_last_login >= 14, 10, 0) AS inactivity_points,
            if(logins_90d > 0, 20 * greatest(0, 1 - logins_30d / (logins_90d / 3)), 0) AS decline_points,
            least(15, 5 * open_tickets) + least(10, 5 * high_severity_tickets_90d) AS support_points,
            if(rated_tickets_90d > 0, 15 * dissatisfied_tickets_90d / rated_tickets_90d, 0) AS dissatisfaction_points,
            round(inactivity_points + decline_points + support_points + dissatisfaction_points, 1) AS churn_risk_score
        FROM signals
    )
SELECT
    scored.customer_id AS customer_id,
    customers.segment AS segment,
    customers.city AS city,
    as_of,
    scored.last_login_at AS last_login_at,
    scored.days_since_last_login AS days_since_last_login,
    scored.logins_30d AS logins_30d,
    scored.logins_90d AS logins_90d,
    scored.logins_30d = 0 AS churned_30d,
    scored.logins_90d = 0 AS churned_90d,
    scored.open_tickets AS open_tickets,
    scored.tickets_90d AS tickets_90d,
    scored.high_severity_tickets_90d AS high_severity_tickets_90d,
    scored.rated_tickets_90d AS rated_tickets_90d,
    scored.dissatisfied_tickets_90d AS dissatisfied_tickets_90d,
    scored.avg_satisfaction_90d AS avg_satisfaction_90d,
    scored.inactivity_points AS inactivity_points,
    scored.decline_points AS decline_points,
    scored.support_points AS support_points,
    scored.dissatisfaction_points AS dissatisfaction_points,
    scored.churn_risk_score AS churn_risk_score,
    multiIf(scored.churn_risk_score >= 70, 'critical', scored.churn_risk_score >= 50, 'high',
            scored.churn_risk_score >= 25, 'medium', 'low') AS risk_level,
    customers.clv AS clv,
    round(customers.clv * scored.churn_risk_score / 100, 2) AS clv_at_risk,
    round(customers.clv * (1 - scored.churn_risk_score / 100), 2) AS estimated_clv
FROM scored
LEFT JOIN stg_helpdesk_customers AS customers ON customers.customer_id = scored.customer_id
