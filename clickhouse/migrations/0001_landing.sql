-- Landing: one table per raw/reference topic, the record as the vendor returned it.
-- ReplacingMergeTree on (topic, partition, offset): a redelivered Kafka record collapses
-- into the row it already wrote. Partitioned by the day the poller fetched it.
CREATE TABLE IF NOT EXISTS raw_records_template ${on_cluster}
(
    natural_key   String,
    record        String CODEC(ZSTD(3)),
    schema_ref    LowCardinality(String),
    source        LowCardinality(String),
    poll_run_id   String,
    fetched_at    DateTime64(3, 'UTC'),
    kafka_topic   LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset  UInt64,
    ingested_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ${replicated}ReplacingMergeTree(ingested_at)
PARTITION BY toDate(fetched_at)
ORDER BY (kafka_topic, kafka_partition, kafka_offset);

CREATE TABLE IF NOT EXISTS raw_anthropic_usage ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_anthropic_cost ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_anthropic_claude_code ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_anthropic_api_keys ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_anthropic_users ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_cursor_daily_usage ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_cursor_usage_events ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_cursor_spend ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_cursor_members ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_stripe_charges ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_product_usage ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_catalog_customers ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_catalog_products ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_catalog_plans ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_catalog_countries ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_catalog_currencies ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_pricebook ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_api_key_mappings ${on_cluster} AS raw_records_template;
