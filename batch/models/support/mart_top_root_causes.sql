/* model
kind = "table"
description = """Root causes ranked per period: one row per (period 'year' | 'quarter' | 'month', period_start, \
root_cause, category, product_category) over mart_ticket_analytics by ticket creation. tickets; share_of_period = \
tickets / the period's tickets; share_of_category = tickets / the period's tickets of the same category; \
rank_in_period = 1 for the most tickets (ties by root cause, category, product category); open_tickets and \
open_share = open / tickets; avg_resolution_hours and median_resolution_hours (the middle value, the mean of the two \
middle ones for an even count) over resolved tickets; avg_satisfaction over rated ones. Version correlation: \
top_app_version is the group's most frequent app version (ties: the higher version text), top_version_share its \
share of the group's tickets that name a version, and version_lift = top_version_share / that version's share of \
all the period's tickets naming a version: above 1, the root cause concentrates on that release (a regression)."""
grain = ["period", "period_start", "root_cause", "category", "product_category"]
*/
WITH
    periods AS
    (
        SELECT period, period_start, root_cause, category, product_category, is_open, resolution_hours,
               satisfaction_score, app_version
        FROM mart_ticket_analytics
        ARRAY JOIN
            ['year', 'quarter', 'month'] AS period,
            [toStartOfYear(created_date), toStartOfQuarter(created_date), toStartOfMonth(created_date)] AS period_start
    ),
    groups AS
    (
        SELECT
            period,
            period_start,
            root_cause,
            category,
            product_category,
            count() AS tickets,
            countIf(is_open) AS open_tickets,
            avg(resolution_hours) AS avg_resolution_hours,
            quantileExactInclusive(0.5)(resolution_hours) AS median_resolution_hours,
            avg(satisfaction_score) AS avg_satisfaction
        FROM periods
        GROUP BY period, period_start, root_cause, category, product_category
    ),
    group_versions AS
    (
        SELECT
            period,
            period_start,
            root_cause,
            category,
            product_category,
            toNullable(argMax(version, (tickets, version))) AS top_app_version,
            toNullable(max(tickets) / sum(tickets)) AS top_version_share
        FROM
        (
            SELECT period, period_start, root_cause, category, product_category, assumeNotNull(app_version) AS version,
                   count() AS tickets
            FROM periods
            WHERE app_version IS NOT NULL
            GROUP BY period, period_start, root_cause, category, product_category, version
        )
        GROUP BY period, period_start, root_cause, category, product_category
    ),
    period_versions AS
    (
        SELECT period, period_start, version,
               toNullable(tickets / sum(tickets) OVER (PARTITION BY period, period_start)) AS share
        FROM
        (
            SELECT period, period_start, assumeNotNull(app_version) AS version, count() AS tickets
            FROM periods
            WHERE app_version IS NOT NULL
            GROUP BY period, period_start, version
        )
    )
SELECT
    groups.period AS period,
    groups.period_start AS period_start,
    groups.root_cause AS root_cause,
    groups.category AS category,
    groups.product_category AS product_category,
    groups.tickets AS tickets,
    groups.tickets / sum(groups.tickets) OVER (PARTITION BY groups.period, groups.period_start) AS share_of_period,
    groups.tickets / sum(groups.tickets) OVER (PARTITION BY groups.period, groups.period_start, groups.category)
        AS share_of_category,
    row_number() OVER (
        PARTITION BY groups.period, groups.period_start
        ORDER BY groups.tickets DESC, groups.root_cause, groups.category, groups.product_category
    ) AS rank_in_period,
    groups.open_tickets AS open_tickets,
    groups.open_tickets / groups.tickets AS open_share,
    groups.avg_resolution_hours AS avg_resolution_hours,
    groups.median_resolution_hours AS median_resolution_hours,
    groups.avg_satisfaction AS avg_satisfaction,
    group_versions.top_app_version AS top_app_version,
    group_versions.top_version_share AS top_version_share,
    group_versions.top_version_share / period_versions.share AS version_lift
FROM groups
LEFT JOIN group_versions
    ON group_versions.period = groups.period
   AND group_versions.period_start = groups.period_start
   AND group_versions.root_cause = groups.root_cause
   AND group_versions.category = groups.category
   AND group_versions.product_category = groups.product_category
LEFT JOIN period_versions
    ON period_versions.period = groups.period
   AND period_versions.period_start = groups.period_start
   AND period_versions.version = group_versions.top_app_version
