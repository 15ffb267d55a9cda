-- name: metric-summary
-- description: Per trial component and metric: points, min, max, average, first and last value, last step.
--   First and last follow the step, then the metric's own timestamp, then the value (so ties break alike everywhere).
-- param: trial_components list[str] optional  Only these trial components (comma-separated)
-- param: metrics list[str] optional  Only these metrics (comma-separated)
-- param: limit int = 10000  Most rows to return
WITH ranked AS (
  SELECT
    trial_component,
    metric_name,
    step,
    value,
    metric_time,
    ROW_NUMBER() OVER (
      PARTITION BY trial_component, metric_name
      ORDER BY step ASC NULLS LAST, metric_time ASC NULLS LAST, value ASC
    ) AS from_first,
    ROW_NUMBER() OVER (
      PARTITION BY trial_component, metric_name
      ORDER BY step DESC NULLS LAST, metric_time DESC NULLS LAST, value DESC
    ) AS from_last
  FROM sagemaker_metrics
  WHERE
    trial_component IN (:trial_components)
    AND metric_name IN (:metrics)
)
SELECT
  trial_component,
  metric_name,
  COUNT(*) AS points,
  MIN(value) AS min_value,
  MAX(value) AS max_value,
  AVG(value) AS avg_value,
  MAX(CASE WHEN from_first = 1 THEN value END) AS first_value,
  MAX(CASE WHEN from_last = 1 THEN value END) AS last_value,
  MAX(step) AS last_step,
  MIN(metric_time) AS first_metric_time,
  MAX(metric_time) AS last_metric_time
FROM ranked
GROUP BY
  trial_component,
  metric_name
ORDER BY
  trial_component,
  metric_name
LIMIT :limit
