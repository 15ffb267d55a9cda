-- name: late-points
-- description: Points whose own timestamp is far from the time of the call that logged them.
--   Positive lag: logged after the point's time (buffered, replayed); negative: a clock ahead of AWS.
--   The SDK accepts points up to 14 days old and 2 hours ahead.
-- param: min_lag_seconds float = 3600  Smallest distance, in seconds, either way
-- param: trial_components list[str] optional  Only these trial components (comma-separated)
-- param: metrics list[str] optional  Only these metrics (comma-separated)
-- param: limit int = 1000  Most rows to return
SELECT
  trial_component,
  metric_name,
  step,
  value,
  metric_time,
  event_time,
  to_unixtime(event_time) - to_unixtime(metric_time) AS lag_seconds
FROM sagemaker_metrics
WHERE
  metric_time IS NOT NULL
  AND ABS(to_unixtime(event_time) - to_unixtime(metric_time)) >= :min_lag_seconds
  AND trial_component IN (:trial_components)
  AND metric_name IN (:metrics)
ORDER BY
  ABS(to_unixtime(event_time) - to_unixtime(metric_time)) DESC,
  trial_component,
  metric_name,
  step
LIMIT :limit
