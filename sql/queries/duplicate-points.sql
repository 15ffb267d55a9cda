-- name: duplicate-points
-- description: The same trial component, metric and step logged more than once with different values.
--   Usually a restarted job or two writers sharing a trial component name.
-- param: trial_components list[str] optional  Only these trial components (comma-separated)
-- param: metrics list[str] optional  Only these metrics (comma-separated)
-- param: limit int = 1000  Most rows to return
SELECT
  trial_component,
  metric_name,
  step,
  COUNT(*) AS points,
  COUNT(DISTINCT value) AS distinct_values,
  MIN(value) AS min_value,
  MAX(value) AS max_value,
  MIN(event_time) AS first_event_time,
  MAX(event_time) AS last_event_time
FROM sagemaker_metrics
WHERE
  step IS NOT NULL
  AND trial_component IN (:trial_components)
  AND metric_name IN (:metrics)
GROUP BY
  trial_component,
  metric_name,
  step
HAVING
  COUNT(DISTINCT value) > 1
ORDER BY
  trial_component,
  metric_name,
  step
LIMIT :limit
