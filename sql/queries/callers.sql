-- name: callers
-- description: The principals, user agents and source IPs that called BatchPutMetrics.
--   Who logs metrics, from where and with what: calls, failed calls, points and trial components.
-- param: limit int = 1000  Most rows to return
SELECT
  caller_arn,
  user_agent,
  source_ip,
  COUNT(*) AS calls,
  COUNT(error_code) AS failed_calls,
  SUM(CASE WHEN error_code IS NULL THEN point_count ELSE 0 END) AS points,
  COUNT(DISTINCT trial_component) AS trial_components,
  MIN(event_time) AS first_event_time,
  MAX(event_time) AS last_event_time
FROM sagemaker_metric_calls
GROUP BY
  caller_arn,
  user_agent,
  source_ip
ORDER BY
  calls DESC,
  caller_arn,
  user_agent,
  source_ip
LIMIT :limit
