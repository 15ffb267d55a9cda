-- name: runs
-- description: The trial components that logged metrics: first and last call, points, metrics and callers.
--   Newest activity first.
-- param: trial_component_glob glob optional  Only names matching this glob, e.g. resnet* (* any characters, ? one)
-- param: limit int = 1000  Most rows to return
SELECT
  trial_component,
  MIN(event_time) AS first_event_time,
  MAX(event_time) AS last_event_time,
  COUNT(*) AS points,
  COUNT(DISTINCT metric_name) AS metrics,
  MAX(step) AS last_step,
  COUNT(DISTINCT caller_arn) AS callers,
  COUNT(DISTINCT account_id) AS accounts,
  MIN(trial_component_arn) AS trial_component_arn
FROM sagemaker_metrics
WHERE
  trial_component LIKE :trial_component_glob ESCAPE '\'
GROUP BY
  trial_component
ORDER BY
  last_event_time DESC,
  trial_component
LIMIT :limit
