-- name: metric-history
-- description: The points of a metric of a trial component, in step and time order, with who logged them.
--   One row per stored point: the learning curve as the training job logged it (give several trial components
--   or metrics for one series after the other).
-- param: trial_components list[str] required  Trial components, e.g. my-training-job-aws-training-job (comma-separated)
-- param: metrics list[str] required  Metrics, e.g. train:loss (comma-separated)
-- param: limit int = 10000  Most points to return
SELECT
  trial_component,
  metric_name,
  step,
  metric_time,
  value,
  event_time,
  caller_arn
FROM sagemaker_metrics
WHERE
  trial_component IN (:trial_components)
  AND metric_name IN (:metrics)
ORDER BY
  trial_component,
  metric_name,
  step NULLS LAST,
  metric_time NULLS LAST,
  event_time,
  value
LIMIT :limit
