-- name: ingest-volume
-- description: BatchPutMetrics calls and points per delivery day, account and region, with their cost.
--   CloudTrail data events cost $0.10 per 100,000 events: every call is one event, failed ones too.
-- param: account_ids list[str] optional  Only these account ids (comma-separated)
-- param: region_codes list[str] optional  Only these regions, e.g. us-east-1 (comma-separated)
SELECT
  day,
  account_id,
  region,
  COUNT(*) AS calls,
  SUM(CASE WHEN error_code IS NULL THEN point_count ELSE 0 END) AS points,
  COUNT(error_code) AS failed_calls,
  COUNT(DISTINCT trial_component) AS trial_components,
  CAST(COUNT(*) AS DOUBLE) * 0.10 / 100000 AS data_event_cost_usd
FROM sagemaker_metric_calls
WHERE
  account_id IN (:account_ids)
  AND region IN (:region_codes)
GROUP BY
  day,
  account_id,
  region
ORDER BY
  day,
  account_id,
  region
