/* model
kind = "table"
description = """One row per funnel session. converted: the session is the converting session of a subscription in \
mart_new_subscriptions (its profile's latest session started at or before the first succeeded charge), whose \
revenue, revenue_usd and currency it carries; converted_at is that charge's time and hours_to_conversion = \
(converted_at - session start) in hours; all null when not converted, so summing revenue over sessions counts each \
subscription once. product_events: the product events linked to the session's profile \
(int__product_event_profiles: by user_id, else email, else device id) from the session's start until the profile's \
next session starts; first_product_event_at the first of them."""
grain = ["session_id"]

[tests]
not_null = ["session_id", "session_started_at", "converted", "product_events"]

[tests.relationships]
subscription_id = "mart_new_subscriptions.subscription_id"
*/
WITH
    sessions AS
    (
        SELECT
            *,
            leadInFrame(toNullable(created_at)) OVER (
                PARTITION BY profile_id ORDER BY created_at, session_id ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING
            ) AS next_session_at
        FROM stg_funnel_sessions
    ),
    activity AS
    (
        SELECT
            sessions.session_id AS session_id,
            count() AS product_events,
            toNullable(min(events.event_at)) AS first_product_event_at
        FROM sessions
        INNER JOIN int__product_event_profiles AS events ON events.profile_id = sessions.profile_id
        WHERE events.event_at >= sessions.created_at
          AND (sessions.next_session_at IS NULL OR events.event_at < sessions.next_session_at)
        GROUP BY sessions.session_id
    ),
    conversions AS
    (
        SELECT
            session_id,
            toNullable(subscription_id) AS subscription_id,
            toNullable(charged_at) AS converted_at,
            toNullable(revenue) AS revenue,
            toNullable(currency) AS currency,
            revenue_usd
        FROM mart_new_subscriptions
        WHERE session_id IS NOT NULL
    )
SELECT
    sessions.session_id AS session_id,
    sessions.profile_id AS profile_id,
    sessions.funnel_id AS funnel_id,
    funnels.title AS funnel_title,
    sessions.created_at AS session_started_at,
    toDate(sessions.created_at) AS session_date,
    sessions.country AS country,
    sessions.city AS city,
    sessions.origin AS origin,
    conversions.subscription_id IS NOT NULL AS converted,
    conversions.subscription_id AS subscription_id,
    conversions.converted_at AS converted_at,
    dateDiff('second', sessions.created_at, conversions.converted_at) / 3600 AS hours_to_conversion,
    conversions.revenue AS revenue,
    conversions.currency AS currency,
    conversions.revenue_usd AS revenue_usd,
    ifNull(activity.product_events, 0) AS product_events,
    activity.first_product_event_at AS first_product_event_at
FROM sessions
LEFT JOIN conversions ON conversions.session_id = sessions.session_id
LEFT JOIN activity ON activity.session_id = sessions.session_id
LEFT JOIN stg_funnel_funnels AS funnels ON funnels.funnel_id = sessions.funnel_id
