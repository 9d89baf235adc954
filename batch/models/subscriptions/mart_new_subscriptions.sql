/* model
kind = "table"
description = """One row per new paying subscription: its first succeeded Stripe charge (earliest charge created, \
among the subscription's charge attempts whose charge is in stg_stripe_charges with status 'succeeded'). Excluded: \
sandbox subscriptions (any of its rows says sandbox) and test-mode charges (livemode false); a subscription whose \
charge has not landed yet appears once it does. \
revenue = amount / 10^minor_units in the charge currency (minor_units from ref_stripe_currencies: amount / 100 for \
cents currencies, amount itself for zero-decimal ones such as JPY, / 1000 for three-decimal ones; 2 when the \
currency is unknown, which also fails the relationship test). revenue_usd = round(revenue x usd_per_unit, 2) with the \
static approximate rate of ref_stripe_currencies (exact for USD; null where no rate is kept). \
failed_attempts: the subscription's failed charges before the first succeeded one. \
Acquisition context (session_id, funnel, country, city, origin) comes from the profile's converting session: its \
latest session (by profile_id) started at or before the first succeeded charge; null when it has none."""
grain = ["subscription_id"]

[tests]
not_null = ["subscription_id", "charge_id", "charged_at", "currency", "revenue"]

[tests.relationships]
currency = "ref_stripe_currencies.currency"
*/
WITH
    attempts AS
    (
        SELECT
            subscriptions.subscription_id AS subscription_id,
            subscriptions.profile_id AS profile_id,
            charges.charge_id AS charge_id,
            charges.created_at AS charged_at,
            charges.status AS charge_status,
            charges.amount AS amount,
            charges.currency AS currency
        FROM stg_funnel_subscriptions AS subscriptions
        INNER JOIN stg_stripe_charges AS charges ON charges.charge_id = subscriptions.psp_id
        WHERE charges.livemode
          AND subscriptions.subscription_id NOT IN
              (SELECT subscription_id FROM stg_funnel_subscriptions WHERE sandbox)
    ),
    first_paid AS
    (
        SELECT *
        FROM attempts
        WHERE charge_status = 'succeeded'
        ORDER BY subscription_id, charged_at, charge_id
        LIMIT 1 BY subscription_id
    ),
    failures AS
    (
        SELECT attempts.subscription_id AS subscription_id, count() AS failed_attempts
        FROM attempts
        INNER JOIN first_paid ON first_paid.subscription_id = attempts.subscription_id
        WHERE attempts.charge_status = 'failed' AND attempts.charged_at < first_paid.charged_at
        GROUP BY attempts.subscription_id
    ),
    lifecycle AS
    (
        SELECT
            subscription_id,
            min(created_at) AS subscribed_at,
            argMax(status, (updated_at, psp_id)) AS status
        FROM stg_funnel_subscriptions
        GROUP BY subscription_id
    ),
    acquisition AS
    (
        SELECT
            subscription_id,
            toNullable(latest.1) AS session_id,
            toNullable(latest.2) AS session_started_at,
            latest.3 AS funnel_id,
            latest.4 AS country,
            latest.5 AS city,
            latest.6 AS origin
        FROM
        (
            SELECT
                first_paid.subscription_id AS subscription_id,
                -- A tuple: argMax skips null values, and the latest session's null country must still win.
                argMax(
                    tuple(sessions.session_id, sessions.created_at, sessions.funnel_id, sessions.country,
                          sessions.city, sessions.origin),
                    (sessions.created_at, sessions.session_id)
                ) AS latest
            FROM first_paid
            INNER JOIN stg_funnel_sessions AS sessions ON sessions.profile_id = first_paid.profile_id
            WHERE sessions.created_at <= first_paid.charged_at
            GROUP BY first_paid.subscription_id
        )
    )
SELECT
    first_paid.subscription_id AS subscription_id,
    first_paid.profile_id AS profile_id,
    lifecycle.subscribed_at AS subscribed_at,
    lifecycle.status AS status,
    first_paid.charge_id AS charge_id,
    first_paid.charged_at AS charged_at,
    toDate(first_paid.charged_at) AS charged_date,
    first_paid.amount AS amount,
    first_paid.currency AS currency,
    ifNull(currencies.minor_units, 2) AS minor_units,
    toDecimal128(first_paid.amount, 6) / intExp10(minor_units) AS revenue,
    CAST(round(revenue * currencies.usd_per_unit, 2) AS Nullable(Decimal(38, 2))) AS revenue_usd,
    ifNull(failures.failed_attempts, 0) AS failed_attempts,
    acquisition.session_id AS session_id,
    acquisition.session_started_at AS session_started_at,
    acquisition.funnel_id AS funnel_id,
    funnels.title AS funnel_title,
    acquisition.country AS country,
    acquisition.city AS city,
    acquisition.origin AS origin
FROM first_paid
INNER JOIN lifecycle ON lifecycle.subscription_id = first_paid.subscription_id
LEFT JOIN failures ON failures.subscription_id = first_paid.subscription_id
LEFT JOIN acquisition ON acquisition.subscription_id = first_paid.subscription_id
LEFT JOIN ref_stripe_currencies AS currencies ON currencies.currency = first_paid.currency
LEFT JOIN stg_funnel_funnels AS funnels ON funnels.funnel_id = acquisition.funnel_id
