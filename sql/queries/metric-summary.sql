-- name: metric-summary
-- description: Per trial component and metric: points, min, max, average, first and last value, last step.
--   First is the point with the lowest step, last the one with the highest (points without a step come after
--   those with one); ties break on the metric's own timestamp, then the value, so every engine picks the same
--   point. Aggregates keyed by ROW(...) rather than window sorts: one pass over the points.
-- param: trial_components list[str] optional  Only these trial components (comma-separated)
-- param: metrics list[str] optional  Only these metrics (comma-separated)
-- param: limit int = 10000  Most rows to return
SELECT
  trial_component,
  metric_name,
  COUNT(*) AS points,
  MIN(value) AS min_value,
  MAX(value) AS max_value,
  AVG(value) AS avg_value,
  MIN_BY(
    value,
    ROW(
      COALESCE(step, 9223372036854775807),
      COALESCE(metric_time, TIMESTAMP '9999-12-31 23:59:59'),
      COALESCE(value, 1e308)
    )
  ) AS first_value,
  MAX_BY(
    value,
    ROW(
      COALESCE(step, -1),
      COALESCE(metric_time, TIMESTAMP '1970-01-01 00:00:00'),
      COALESCE(value, -1e308)
    )
  ) AS last_value,
  MAX(step) AS last_step,
  MIN(metric_time) AS first_metric_time,
  MAX(metric_time) AS last_metric_time
FROM sagemaker_metrics
WHERE
  trial_component IN (:trial_components)
  AND metric_name IN (:metrics)
GROUP BY
  trial_component,
  metric_name
ORDER BY
  trial_component,
  metric_name
LIMIT :limit
