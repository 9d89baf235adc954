-- Budgets, budget alerts, and the relations the monitors share (`usagemart watch`, Grafana, the alert
-- evaluation), so that each number is defined once.

-- Landing of ref.budgets, like every raw/reference topic.
CREATE TABLE IF NOT EXISTS raw_budgets ${on_cluster} AS raw_records_template;

-- Alerts sent: one row per threshold crossing, a copy of the compacted `alerts` topic (the record of
-- what was sent). `alert_id` is a hash of (budget_id, month, cost_kind, threshold_pct); a crossing
-- recorded twice (an evaluation restoring what a crashed one published) collapses, read with FINAL.
CREATE TABLE IF NOT EXISTS alerts ${on_cluster}
(
    alert_id       String,
    budget_id      String,
    scope          LowCardinality(String),
    scope_value    String,
    owner_email    Nullable(String),
    month          Date,
    cost_kind      LowCardinality(String),
    threshold_pct  UInt16,
    budget_amount  Decimal(18, 2),
    spend_amount   Decimal(38, 12),
    currency       LowCardinality(String),
    fired_at       DateTime64(3, 'UTC'),
    recorded_at    DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ${replicated}ReplacingMergeTree
PARTITION BY toYYYYMM(month)
ORDER BY alert_id;

-- The current budgets: the latest ref.budgets record per key, retired ones (active = false) left out.
CREATE VIEW IF NOT EXISTS budgets ${on_cluster} AS
WITH latest AS
(
    SELECT argMax(record, (fetched_at, kafka_offset)) AS record
    FROM raw_budgets
    GROUP BY natural_key
)
SELECT
    JSONExtractString(record, 'budget_id') AS budget_id,
    JSONExtractString(record, 'scope') AS scope,
    JSONExtractString(record, 'scope_value') AS scope_value,
    arrayDistinct(arrayMap(member -> lower(member), JSONExtract(record, 'members', 'Array(String)'))) AS members,
    toDecimal64(JSONExtractString(record, 'monthly_amount'), 2) AS monthly_amount,
    JSONExtractString(record, 'currency') AS currency,
    JSONExtract(record, 'thresholds_pct', 'Array(UInt16)') AS thresholds_pct,
    JSONExtract(record, 'owner_email', 'Nullable(String)') AS owner_email
FROM latest
WHERE JSONExtractBool(record, 'active');

-- Spend per budget, month (the previous and the current one, UTC) and cost kind; 0 where nothing was
-- spent. A person budget counts the cost events attributed to the email, a team budget those of its
-- members, a platform budget the platform's; only events in the budget's currency, and the two cost
-- kinds are never added together. The forecast extends the current month's spend at its pace so far
-- (at least one day elapsed, so the first hours of a month do not explode it).
CREATE VIEW IF NOT EXISTS budget_spend ${on_cluster} AS
WITH
    toStartOfMonth(today()) AS this_month,
    matches AS
    (
        SELECT
            budget_id,
            currency,
            if(scope = 'platform', 'platform', 'person') AS match_kind,
            arrayJoin(if(scope = 'team', members, [lower(scope_value)])) AS match_value
        FROM budgets
    ),
    spend AS
    (
        SELECT
            toStartOfMonth(usage_date) AS month,
            cost_kind,
            currency,
            matching.1 AS match_kind,
            matching.2 AS match_value,
            sum(amount) AS amount
        FROM cost_events FINAL
        ARRAY JOIN [('person', lower(ifNull(user_email, ''))), ('platform', toString(platform))] AS matching
        WHERE usage_date >= this_month - INTERVAL 1 MONTH
        GROUP BY month, cost_kind, currency, match_kind, match_value
    ),
    matched AS
    (
        SELECT matches.budget_id AS budget_id, spend.month AS month, spend.cost_kind AS cost_kind,
               sum(spend.amount) AS spend
        FROM matches
        INNER JOIN spend
            ON spend.match_kind = matches.match_kind AND spend.match_value = matches.match_value
            AND spend.currency = matches.currency
        GROUP BY budget_id, month, cost_kind
    ),
    grid AS
    (
        SELECT
            *,
            arrayJoin([this_month - INTERVAL 1 MONTH, this_month]) AS month,
            arrayJoin(['estimated', 'reported']) AS cost_kind
        FROM budgets
    )
SELECT
    grid.budget_id AS budget_id,
    grid.scope AS scope,
    grid.scope_value AS scope_value,
    grid.members AS members,
    grid.monthly_amount AS monthly_amount,
    grid.currency AS currency,
    grid.thresholds_pct AS thresholds_pct,
    grid.owner_email AS owner_email,
    grid.month AS month,
    grid.cost_kind AS cost_kind,
    matched.spend AS spend,
    toFloat64(spend) * 100 / toFloat64(monthly_amount) AS spend_pct,
    if(month = this_month,
       toFloat64(spend) * toDayOfMonth(toLastDayOfMonth(this_month))
           / greatest(dateDiff('second', toDateTime(this_month, 'UTC'), now()) / 86400, 1),
       toFloat64(spend)) AS month_end_forecast,
    month_end_forecast * 100 / toFloat64(monthly_amount) AS forecast_pct
FROM grid
LEFT JOIN matched
    ON matched.budget_id = grid.budget_id AND matched.month = grid.month AND matched.cost_kind = grid.cost_kind;

-- Every landing table as one: a Merge table over the raw_* tables, the ones added by later migrations
-- included. Names with a double underscore (replay's shadow tables) do not match; the doubled dollar
-- is one dollar once the migration placeholders are filled in.
CREATE TABLE IF NOT EXISTS landed_records ${on_cluster} AS raw_records_template
ENGINE = Merge(currentDatabase(), '^raw_[a-z0-9]+(_[a-z0-9]+)*$$');

-- Freshness per landed topic: when its poller last fetched, when that landed, and for event topics the
-- newest event instant normalized from it (over the last 31 days); ages in seconds before now.
CREATE VIEW IF NOT EXISTS source_freshness ${on_cluster} AS
WITH events AS
(
    SELECT raw_topic, CAST(max(event_time) AS Nullable(DateTime64(3, 'UTC'))) AS last_event_at
    FROM
    (
        SELECT raw_topic, event_time FROM usage_events WHERE usage_date >= today() - 31
        UNION ALL
        SELECT raw_topic, event_time FROM cost_events WHERE usage_date >= today() - 31
    )
    GROUP BY raw_topic
)
SELECT
    toString(landed.kafka_topic) AS topic,
    any(landed.source) AS source,
    count() AS records,
    max(landed.fetched_at) AS last_fetched_at,
    max(landed.ingested_at) AS last_landed_at,
    any(events.last_event_at) AS last_event_at,
    dateDiff('second', last_fetched_at, now64(3)) AS fetch_age_s,
    dateDiff('second', last_event_at, now64(3)) AS event_lag_s
FROM landed_records AS landed
LEFT JOIN events ON events.raw_topic = landed.kafka_topic
GROUP BY topic;

-- Burn rate per cost kind: the last hour and day (by event time), month to date, and the month's end at
-- the month-to-date pace (at least one day elapsed). Reported spend lags: vendors bill a day or more late.
CREATE VIEW IF NOT EXISTS burn_rate ${on_cluster} AS
WITH
    toStartOfMonth(today()) AS this_month,
    now() AS at
SELECT
    toString(cost_kind) AS cost_kind,
    toFloat64(sumIf(amount, event_time > at - INTERVAL 1 HOUR)) AS last_hour_usd,
    toFloat64(sumIf(amount, event_time > at - INTERVAL 1 DAY)) AS last_24h_usd,
    toFloat64(sumIf(amount, usage_date >= this_month)) AS mtd_usd,
    mtd_usd * toDayOfMonth(toLastDayOfMonth(this_month))
        / greatest(dateDiff('second', toDateTime(this_month, 'UTC'), at) / 86400, 1) AS month_end_forecast_usd
FROM cost_events FINAL
WHERE usage_date >= least(this_month, today() - 1)
GROUP BY cost_kind;
