/* model
kind = "table"
description = """Stripe charges from raw.stripe.charges, typed: the latest state of each charge (the topic is \
compacted by charge id; the newest landed record, by fetch time then Kafka offset, wins). amount is in the \
currency's smallest unit as Stripe sends it (cents; whole units for zero-decimal currencies); currency is upper-case \
ISO 4217."""
grain = ["charge_id"]

[tests]
not_null = ["charge_id", "currency", "status", "created_at"]
*/
SELECT
    row.id AS charge_id,
    row.amount AS amount,
    row.amount_captured AS amount_captured,
    row.amount_refunded AS amount_refunded,
    upper(trimBoth(row.currency)) AS currency,
    lower(trimBoth(row.status)) AS status,
    row.paid AS paid,
    row.refunded AS refunded,
    row.livemode AS livemode,
    row.customer AS customer,
    row.failure_code AS failure_code,
    parseDateTime64BestEffort(row.created, 3, 'UTC') AS created_at
FROM
(
    SELECT
        JSONExtract(
            record,
            'Tuple(id String, amount Int64, amount_captured Int64, amount_refunded Int64, currency String, status String, paid Bool, refunded Bool, livemode Bool, customer Nullable(String), failure_code Nullable(String), created String)'
        ) AS row,
        fetched_at,
        kafka_offset
    FROM raw_stripe_charges
    WHERE {{ landed_filter }}
)
ORDER BY charge_id, fetched_at DESC, kafka_offset DESC
LIMIT 1 BY charge_id
