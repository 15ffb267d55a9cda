WITH sagemaker_metrics AS (
  SELECT
    trial_component,
    metric_name,
    step,
    value,
    metric_time
  FROM (
    SELECT
      trial_component,
      metric_name,
      step,
      value,
      metric_time,
      day,
      account_id,
      region,
      event_id,
      point_index,
      ROW_NUMBER() OVER (
        PARTITION BY event_id, point_index
        ORDER BY day, account_id, region, trial_component, metric_name, step, value, metric_time
      ) AS copy_number
    FROM smtrail.sagemaker_metrics
    WHERE
      day >= '2024/05/01'
      AND day <= '2024/05/09'
      AND event_time >= CAST('2024-05-01 00:00:00.000' AS TIMESTAMP)
      AND event_time < CAST('2024-05-08 00:00:00.000' AS TIMESTAMP)
  ) AS copies
  WHERE
    copy_number = 1 OR event_id IS NULL
)
SELECT
  trial_component,
  metric_name,
  COUNT(*) AS points,
  MIN(value) AS min_value,
  MAX(value) AS max_value,
  FAVG(value) AS avg_value,
  ARG_MIN_NULL(
    value,
    {'_0': COALESCE(step, 9223372036854775807), '_1': COALESCE(metric_time, CAST('9999-12-31 23:59:59' AS TIMESTAMP(0))), '_2': COALESCE(value, 1e308)}
  ) AS first_value,
  ARG_MAX_NULL(
    value,
    {'_0': COALESCE(step, -1), '_1': COALESCE(metric_time, CAST('1970-01-01 00:00:00' AS TIMESTAMP(0))), '_2': COALESCE(value, -1e308)}
  ) AS last_value,
  MAX(step) AS last_step,
  MIN(metric_time) AS first_metric_time,
  MAX(metric_time) AS last_metric_time
FROM sagemaker_metrics
WHERE
  trial_component IN (
    'resnet-training-job-aws-training-job',
    'bert-finetune-aws-training-job',
    'xgboost-aws-training-job'
  )
  AND metric_name IN ('train:loss', 'validation:loss', 'train:accuracy')
GROUP BY
  trial_component,
  metric_name
ORDER BY
  trial_component,
  metric_name
LIMIT 10;
