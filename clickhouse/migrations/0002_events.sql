-- Normalized, attributed events. Keyed by event_id; the highest `version` (a restatement's
-- time) wins on merge, so re-polling, redelivery and replay converge on one row per event.
-- Exact queries read with FINAL (or argMax by version).
CREATE TABLE IF NOT EXISTS usage_events ${on_cluster}
(
    event_id                 String,
    version                  UInt64,
    source                   LowCardinality(String),
    platform                 LowCardinality(String),
    event_time               DateTime64(3, 'UTC'),
    usage_date               Date,
    user_email               Nullable(String),
    attribution_method       LowCardinality(String),
    attribution_confidence   Float32,
    api_key_id               Nullable(String),
    workspace_id             Nullable(String),
    model                    LowCardinality(Nullable(String)),
    service_tier             LowCardinality(Nullable(String)),
    context_window           LowCardinality(Nullable(String)),
    input_tokens             UInt64,
    output_tokens            UInt64,
    cache_creation_5m_tokens UInt64,
    cache_creation_1h_tokens UInt64,
    cache_read_tokens        UInt64,
    requests                 UInt64,
    web_search_requests      UInt64,
    sessions                 UInt64,
    lines_added              UInt64,
    lines_removed            UInt64,
    attributes               Map(String, String),
    raw_topic                LowCardinality(String),
    raw_partition            UInt32,
    raw_offset               UInt64,
    ingested_at              DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ${replicated}ReplacingMergeTree(version)
PARTITION BY toYYYYMM(usage_date)
ORDER BY (platform, usage_date, event_id);

CREATE TABLE IF NOT EXISTS cost_events ${on_cluster}
(
    event_id                 String,
    version                  UInt64,
    source                   LowCardinality(String),
    platform                 LowCardinality(String),
    -- 'reported' (the vendor's bill) and 'estimated' (tokens x price book) are never summed together.
    cost_kind                LowCardinality(String),
    event_time               DateTime64(3, 'UTC'),
    usage_date               Date,
    -- In the currency's major unit (dollars, not cents): the normalizer makes units explicit.
    amount                   Decimal(38, 12),
    currency                 LowCardinality(String),
    user_email               Nullable(String),
    attribution_method       LowCardinality(String),
    attribution_confidence   Float32,
    api_key_id               Nullable(String),
    workspace_id             Nullable(String),
    model                    LowCardinality(Nullable(String)),
    token_type               LowCardinality(Nullable(String)),
    cost_type                LowCardinality(Nullable(String)),
    description              Nullable(String),
    service_tier             LowCardinality(Nullable(String)),
    context_window           LowCardinality(Nullable(String)),
    attributes               Map(String, String),
    raw_topic                LowCardinality(String),
    raw_partition            UInt32,
    raw_offset               UInt64,
    ingested_at              DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ${replicated}ReplacingMergeTree(version)
PARTITION BY toYYYYMM(usage_date)
ORDER BY (platform, cost_kind, usage_date, event_id);

-- Records that failed a stage, with the reason and the original bytes (base64), so they are visible.
CREATE TABLE IF NOT EXISTS dlq_records ${on_cluster}
(
    stage           LowCardinality(String),
    error           String,
    source_topic    LowCardinality(String),
    source_partition UInt32,
    source_offset   UInt64,
    original_key    String,
    original_value  String CODEC(ZSTD(3)),
    failed_at       DateTime64(3, 'UTC'),
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ${replicated}ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(failed_at)
ORDER BY (stage, source_topic, source_partition, source_offset);
