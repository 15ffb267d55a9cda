-- version: 3
-- description: A metric store: Iceberg tables of the points and calls, filled by `smtrail-sql refresh`, that queries read instead of the whole trail.
--
-- Why this version: the trail table holds every CloudTrail event of its days (gzipped JSON, prunable only by
-- account, region and delivery day), so a query pays for all of the trail's traffic. `refresh` folds the metric
-- rows into these tables once (Parquet, partitioned by the day of event_time); queries then read only them.
-- This file is released once shipped: never edit it. A change is a new numbered file.

-- One row per copy of a metric point, as the sagemaker_metrics view gives it. `refresh` adds a copy only when no
-- equal copy is stored (MERGE ON event_id, point_index, the delivery day, account, region and every field), so
-- a rerun adds nothing and a redelivered event adds its copy once; queries keep one copy per (event_id,
-- point_index) exactly as they do over the views, so both sources give the same rows.
CREATE TABLE IF NOT EXISTS sagemaker_metrics_store (
  account_id STRING,
  region STRING,
  day STRING,
  event_time TIMESTAMP,
  event_id STRING,
  point_index BIGINT,
  trial_component STRING,
  trial_component_arn STRING,
  metric_name STRING,
  step BIGINT,
  value DOUBLE,
  metric_time TIMESTAMP,
  caller_arn STRING,
  user_agent STRING,
  source_ip STRING
)
PARTITIONED BY (day(event_time))
LOCATION :points_store_location
TBLPROPERTIES ('table_type' = 'ICEBERG', 'format' = 'parquet', 'write_compression' = 'zstd');

-- One row per copy of a BatchPutMetrics call, as the sagemaker_metric_calls view gives it.
CREATE TABLE IF NOT EXISTS sagemaker_metric_calls_store (
  account_id STRING,
  region STRING,
  day STRING,
  event_time TIMESTAMP,
  event_id STRING,
  trial_component STRING,
  trial_component_arn STRING,
  point_count BIGINT,
  error_code STRING,
  error_message STRING,
  caller_arn STRING,
  user_agent STRING,
  source_ip STRING
)
PARTITIONED BY (day(event_time))
LOCATION :calls_store_location
TBLPROPERTIES ('table_type' = 'ICEBERG', 'format' = 'parquet', 'write_compression' = 'zstd');

-- One row per chunk of delivery days `refresh` folded in, written after the chunk's rows: what the store holds.
-- A day is in the store up to the started_at of the latest chunk that read it.
CREATE TABLE IF NOT EXISTS sagemaker_metrics_refreshes (
  first_day DATE,
  last_day DATE,
  started_at TIMESTAMP,
  finished_at TIMESTAMP,
  tool_version STRING
)
LOCATION :refresh_log_location
TBLPROPERTIES ('table_type' = 'ICEBERG', 'format' = 'parquet');
