-- name: compare-runs
-- description: Metrics across several trial components, side by side: last, best and worst value.
--   Per metric, ranked by the last value (lowest first); pass lower_is_better=false for metrics such as accuracy.
-- param: metrics list[str] required  Metrics, e.g. validation:loss (comma-separated)
-- param: trial_components list[str] required  Trial components to compare (comma-separated)
-- param: lower_is_better bool = true  Whether a lower value ranks first
WITH ranked AS (
  SELECT
    trial_component,
    metric_name,
    step,
    value,
    metric_time,
    ROW_NUMBER() OVER (
      PARTITION BY trial_component, metric_name
      ORDER BY step DESC NULLS LAST, metric_time DESC NULLS LAST, value DESC
    ) AS from_last
  FROM sagemaker_metrics
  WHERE
    metric_name IN (:metrics)
    AND trial_component IN (:trial_components)
), per_run AS (
  SELECT
    trial_component,
    metric_name,
    COUNT(*) AS points,
    MAX(step) AS last_step,
    MAX(CASE WHEN from_last = 1 THEN value END) AS last_value,
    MIN(value) AS min_value,
    MAX(value) AS max_value,
    AVG(value) AS avg_value
  FROM ranked
  GROUP BY
    trial_component,
    metric_name
)
SELECT
  metric_name,
  trial_component,
  points,
  last_step,
  last_value,
  min_value,
  max_value,
  avg_value
FROM per_run
ORDER BY
  metric_name,
  CASE WHEN :lower_is_better THEN last_value ELSE -last_value END NULLS LAST,
  trial_component
