-- name: failed-calls
-- description: BatchPutMetrics calls that failed (errorCode set), by principal and error code.
--   A failed call stored nothing: these are the points the training jobs believe they logged.
-- param: error_codes list[str] optional  Only these error codes, e.g. AccessDenied,ThrottlingException
-- param: limit int = 1000  Most rows to return
SELECT
  caller_arn,
  error_code,
  COUNT(*) AS calls,
  SUM(point_count) AS points_lost,
  COUNT(DISTINCT trial_component) AS trial_components,
  MIN(event_time) AS first_event_time,
  MAX(event_time) AS last_event_time,
  MAX(error_message) AS sample_message
FROM sagemaker_metric_calls
WHERE
  error_code IS NOT NULL
  AND error_code IN (:error_codes)
GROUP BY
  caller_arn,
  error_code
ORDER BY
  calls DESC,
  caller_arn,
  error_code
LIMIT :limit
