-- Micro-batch bookkeeping. A run's row is written once it finished; the watermark in effect is
-- the newest `watermark` of a successful run (landing rows with since < ingested_at <= watermark
-- were processed by it). A failed run is kept for history and moves nothing.
CREATE TABLE IF NOT EXISTS batch_runs ${on_cluster}
(
    run_id       String,
    mode         LowCardinality(String),
    status       LowCardinality(String),
    started_at   DateTime64(3, 'UTC'),
    finished_at  DateTime64(3, 'UTC'),
    since        Nullable(DateTime64(3, 'UTC')),
    watermark    DateTime64(3, 'UTC'),
    error        String
)
ENGINE = ${replicated}MergeTree
ORDER BY (started_at, run_id);

-- Per model and run: what the batch did, rows and partitions written, seconds spent.
CREATE TABLE IF NOT EXISTS batch_model_runs ${on_cluster}
(
    run_id       String,
    model        LowCardinality(String),
    kind         LowCardinality(String),
    action       LowCardinality(String),
    rows         Nullable(UInt64),
    partitions   Nullable(UInt32),
    seconds      Float64,
    fingerprint  String,
    finished_at  DateTime64(3, 'UTC')
)
ENGINE = ${replicated}MergeTree
PARTITION BY toYYYYMM(finished_at)
ORDER BY (finished_at, model);

-- The fingerprint (SQL, metadata, variables, upstream fingerprints) each model was last built in
-- full from: a model whose fingerprint changed is rebuilt in full by the next batch.
CREATE TABLE IF NOT EXISTS batch_models ${on_cluster}
(
    model        String,
    fingerprint  String,
    built_at     DateTime64(3, 'UTC')
)
ENGINE = ${replicated}ReplacingMergeTree(built_at)
ORDER BY model;

-- Data test results, one row per test per run (a batch, or `usagemart check`). `sample` holds up
-- to ten failing rows as JSON lines.
CREATE TABLE IF NOT EXISTS batch_test_results ${on_cluster}
(
    run_id       String,
    checked_at   DateTime64(3, 'UTC'),
    test         String,
    model        LowCardinality(String),
    severity     LowCardinality(String),
    status       LowCardinality(String),
    failures     UInt64,
    sample       String CODEC(ZSTD(3)),
    error        String,
    seconds      Float64
)
ENGINE = ${replicated}MergeTree
PARTITION BY toYYYYMM(checked_at)
ORDER BY (checked_at, test);
