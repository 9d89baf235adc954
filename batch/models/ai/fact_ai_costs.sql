/* model
kind = "incremental_by_partition"
description = """AI tool costs per (usage_date, platform, cost_kind, currency, workspace_id, model, cost_type, \
user_key, allocation_method). cost_kind 'reported' (the vendor's bill) and 'estimated' (price book or vendor \
estimate) are separate rows and never summed together. Events are re-attributed with the current key mappings \
like fact_ai_usage. allocation_method: 'direct' when the event has an owner; a reported cost without one (the \
Anthropic cost report is per workspace) is 'workspace_usage_share': split among the people of its \
(usage_date, platform, workspace_id) by their share of that workspace's estimated cost that day, the \
estimated cost nobody owns keeping its share as 'unallocated' (user_key 0); with no estimate to go by the whole \
amount is 'unallocated'. An estimated cost without owner is 'unallocated'. Allocations are rounded to the cent \
and the largest share takes the rounding remainder, so the allocated rows of a line sum exactly to it \
(allocated_from). allocation_confidence: the attribution's confidence for 'direct', 0.8 x the person's \
estimate attribution confidence for a usage share (a share of estimates is a proxy), 0 when unallocated."""
grain = ["usage_date", "platform", "cost_kind", "currency", "workspace_id", "model", "cost_type", "user_key",
         "allocation_method"]
order_by = ["usage_date", "platform", "cost_kind", "user_key"]
partition_by = "toYYYYMM(usage_date)"
time_column = "usage_date"

[tests]
not_null = ["usage_date", "platform", "cost_kind", "user_key", "allocation_method", "amount"]

[tests.relationships]
user_key = "dim_users.user_key"
platform = "dim_platforms.platform"
*/
WITH
    costs AS
    (
        SELECT
            events.usage_date AS usage_date,
            events.platform AS platform,
            events.cost_kind AS cost_kind,
            events.currency AS currency,
            ifNull(events.workspace_id, '') AS workspace_id,
            ifNull(events.model, '') AS model,
            ifNull(events.cost_type, '') AS cost_type,
            events.amount AS amount,
            -- An event that landed after the watermark has no resolved owner yet: the stream's stands until the
            -- next batch.
            owner.attribution_method = '' AS unresolved,
            unresolved ? ifNull(events.user_email, '') : owner.user_email AS user_email,
            unresolved ? events.attribution_confidence : owner.attribution_confidence AS attribution_confidence
        FROM
        (
            SELECT *
            FROM cost_events FINAL
            WHERE {{ partition_filter }}
        ) AS events
        LEFT JOIN int__ai_attribution AS owner
            ON owner.usage_date = events.usage_date
           AND owner.api_key_id = if(events.attribution_method = 'direct_email', '', ifNull(events.api_key_id, ''))
           AND owner.api_key_name = if(events.attribution_method = 'direct_email' OR events.api_key_id IS NOT NULL, '',
                                       events.attributes['api_key_name'])
           AND owner.direct_email = if(events.attribution_method = 'direct_email', ifNull(events.user_email, ''), '')
    ),
    kept AS
    (
        SELECT
            usage_date, platform, cost_kind, currency, workspace_id, model, cost_type, user_email,
            user_email = '' ? 'unallocated' : 'direct' AS allocation_method,
            toFloat32(user_email = '' ? 0 : min(attribution_confidence)) AS allocation_confidence,
            sum(amount) AS amount,
            1.0 AS allocation_share,
            CAST(NULL AS Nullable(Decimal(38, 12))) AS allocated_from
        FROM costs
        WHERE NOT (cost_kind = 'reported' AND user_email = '')
        GROUP BY usage_date, platform, cost_kind, currency, workspace_id, model, cost_type, user_email
    ),
    lines AS
    (
        SELECT usage_date, platform, currency, workspace_id, model, cost_type, sum(amount) AS line_amount
        FROM costs
        WHERE cost_kind = 'reported' AND user_email = ''
        GROUP BY usage_date, platform, currency, workspace_id, model, cost_type
    ),
    basis AS
    (
        SELECT usage_date, platform, workspace_id, user_email, sum(amount) AS weight,
               max(attribution_confidence) AS confidence
        FROM costs
        WHERE cost_kind = 'estimated'
        GROUP BY usage_date, platform, workspace_id, user_email
    ),
    participants AS
    (
        SELECT
            lines.*,
            basis.user_email AS basis_email,
            basis.weight AS weight,
            basis.confidence AS basis_confidence,
            sum(basis.weight) OVER (PARTITION BY lines.usage_date, lines.platform, lines.currency,
                                    lines.workspace_id, lines.model, lines.cost_type) AS total_weight,
            row_number() OVER (PARTITION BY lines.usage_date, lines.platform, lines.currency, lines.workspace_id,
                               lines.model, lines.cost_type ORDER BY basis.weight DESC, basis.user_email) AS rank
        FROM lines
        LEFT JOIN basis
            ON basis.usage_date = lines.usage_date
           AND basis.platform = lines.platform
           AND basis.workspace_id = lines.workspace_id
    ),
    rounded AS
    (
        SELECT
            *,
            total_weight > 0 ? toFloat64(weight) / toFloat64(total_weight) : 1.0 AS allocation_share,
            -- Decimal256: the product has 24 decimals, and dividing it scales it up by 12 more.
            ifNull(CAST(round(CAST(line_amount AS Decimal(76, 12)) * weight / nullIf(total_weight, 0), 2)
                        AS Nullable(Decimal(38, 12))), line_amount) AS rounded_amount,
            sum(rounded_amount) OVER (PARTITION BY usage_date, platform, currency, workspace_id, model, cost_type)
                AS rounded_total
        FROM participants
        -- With no estimate to go by, the one row left is the whole line, unallocated.
        WHERE total_weight > 0 ? weight > 0 : rank = 1
    ),
    allocated AS
    (
        SELECT
            usage_date, platform, 'reported' AS cost_kind, currency, workspace_id, model, cost_type,
            total_weight > 0 ? basis_email : '' AS user_email,
            user_email = '' ? 'unallocated' : 'workspace_usage_share' AS allocation_method,
            toFloat32(user_email = '' ? 0 : 0.8 * basis_confidence) AS allocation_confidence,
            rank = 1 ? line_amount - (rounded_total - rounded_amount) : rounded_amount AS amount,
            allocation_share,
            CAST(line_amount AS Nullable(Decimal(38, 12))) AS allocated_from
        FROM rounded
    )
SELECT
    usage_date,
    platform,
    cost_kind,
    currency,
    workspace_id,
    model,
    cost_type,
    user_email = '' ? toUInt64(0) : cityHash64(user_email) AS user_key,
    user_email,
    allocation_method,
    allocation_confidence,
    CAST(amount AS Decimal(38, 12)) AS amount,
    allocation_share,
    allocated_from
FROM
(
    SELECT * FROM kept
    UNION ALL
    SELECT * FROM allocated
)
