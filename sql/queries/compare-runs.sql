-- name: compare-runs
-- description: One metric across several trial components, side by side: last, best and worst value.
--   Ranked by the last value (lowest first); pass lower_is_better=false for metrics such as accuracy.
-- param: metric str required  Metric name, e.g. validation:loss
-- param: trial_components list[str] required  Trial components to compare (comma-separated)
-- param: lower_is_better bool = true  Whether a lower value ranks first
WITH ranked AS (
  SELECT
    trial_component,
    step,
    value,
    metric_time,
    ROW_NUMBER() OVER (
      PARTITION BY trial_component
      ORDER BY step DESC NULLS LAST, metric_time DESC NULLS LAST, value DESC
    ) AS from_last
  FROM sagemaker_metrics
  WHERE
    metric_name = :metric
    AND trial_component IN (:trial_components)
), per_run AS (
  SELECT
    trial_component,
    COUNT(*) AS points,
    MAX(step) AS last_step,
    MAX(CASE WHEN from_last = 1 THEN value END) AS last_value,
    MIN(value) AS min_value,
    MAX(value) AS max_value,
    AVG(value) AS avg_value
  FROM ranked
  GROUP BY
    trial_component
)
SELECT
  trial_component,
  points,
  last_step,
  last_value,
  min_value,
  max_value,
  avg_value
FROM per_run
ORDER BY
  CASE WHEN :lower_is_better THEN last_value ELSE -last_value END NULLS LAST,
  trial_component
