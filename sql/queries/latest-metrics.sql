-- name: latest-metrics
-- description: The most recent value of every metric of every trial component.
--   Most recent by the metric's own timestamp, then step: what a dashboard would show now.
-- param: trial_components list[str] optional  Only these trial components (comma-separated)
-- param: metrics list[str] optional  Only these metrics (comma-separated)
-- param: limit int = 10000  Most rows to return
WITH ranked AS (
  SELECT
    trial_component,
    metric_name,
    value,
    step,
    metric_time,
    event_time,
    ROW_NUMBER() OVER (
      PARTITION BY trial_component, metric_name
      ORDER BY metric_time DESC NULLS LAST, step DESC NULLS LAST, event_time DESC, value DESC
    ) AS recency
  FROM sagemaker_metrics
  WHERE
    trial_component IN (:trial_components)
    AND metric_name IN (:metrics)
)
SELECT
  trial_component,
  metric_name,
  value,
  step,
  metric_time,
  event_time
FROM ranked
WHERE
  recency = 1
ORDER BY
  trial_component,
  metric_name
LIMIT :limit
