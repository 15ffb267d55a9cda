-- name: metric-curves
-- description: The points of several metrics of several trial components, for plotting curves.
--   Ordered by trial component, metric and step: one series per (trial component, metric).
-- param: trial_components list[str] required  Trial components to draw (comma-separated)
-- param: metrics list[str] required  Metrics to draw (comma-separated)
-- param: limit int = 100000  Most points to return
SELECT
  trial_component,
  metric_name,
  step,
  value,
  metric_time,
  event_time
FROM sagemaker_metrics
WHERE
  trial_component IN (:trial_components)
  AND metric_name IN (:metrics)
ORDER BY
  trial_component,
  metric_name,
  step NULLS LAST,
  metric_time NULLS LAST,
  value
LIMIT :limit
