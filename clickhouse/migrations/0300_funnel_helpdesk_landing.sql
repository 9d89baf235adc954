-- Landing for the funnel and helpdesk sources: one table per raw topic, shaped like 0001's.
CREATE TABLE IF NOT EXISTS raw_funnel_sessions ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_funnel_subscriptions ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_funnel_funnels ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_funnel_product_events ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_helpdesk_tickets ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_helpdesk_customers ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_helpdesk_products ${on_cluster} AS raw_records_template;
CREATE TABLE IF NOT EXISTS raw_helpdesk_logins ${on_cluster} AS raw_records_template;
