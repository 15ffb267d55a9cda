-- name: metric-history
-- description: The points of one metric of one trial component, in step and time order.
--   One row per stored point: the learning curve as the training job logged it.
-- param: trial_component str required  Trial component name, e.g. my-training-job-aws-training-job
-- param: metric str required  Metric name, e.g. train:loss
-- param: limit int = 10000  Most points to return
SELECT
  step,
  metric_time,
  value,
  event_time,
  caller_arn
FROM sagemaker_metrics
WHERE
  trial_component = :trial_component
  AND metric_name = :metric
ORDER BY
  step NULLS LAST,
  metric_time NULLS LAST,
  event_time,
  value
LIMIT :limit
