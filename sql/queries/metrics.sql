-- name: metrics
-- description: The metrics each trial component logged: points, last step, first and last event time.
--   The names to give -m (the metrics parameter) of the other queries.
-- param: trial_components list[str] optional  Only these trial components (comma-separated)
-- param: trial_component_glob glob optional  Only trial components matching this glob, e.g. resnet* (* any characters, ? one)
-- param: limit int = 10000  Most rows to return
SELECT
  trial_component,
  metric_name,
  COUNT(*) AS points,
  MAX(step) AS last_step,
  MIN(event_time) AS first_event_time,
  MAX(event_time) AS last_event_time
FROM sagemaker_metrics
WHERE
  trial_component IN (:trial_components)
  AND trial_component LIKE :trial_component_glob ESCAPE '\'
GROUP BY
  trial_component,
  metric_name
ORDER BY
  trial_component,
  metric_name
LIMIT :limit
