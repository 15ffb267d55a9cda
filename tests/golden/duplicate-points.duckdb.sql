WITH sagemaker_metrics AS (
  SELECT
    event_time,
    trial_component,
    metric_name,
    step,
    value
  FROM (
    SELECT
      event_time,
      trial_component,
      metric_name,
      step,
      value,
      day,
      account_id,
      region,
      event_id,
      point_index,
      ROW_NUMBER() OVER (
        PARTITION BY event_id, point_index
        ORDER BY day, account_id, region, event_time, trial_component, metric_name, step, value
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
  step,
  COUNT(*) AS points,
  COUNT(DISTINCT value) AS distinct_values,
  MIN(value) AS min_value,
  MAX(value) AS max_value,
  MIN(event_time) AS first_event_time,
  MAX(event_time) AS last_event_time
FROM sagemaker_metrics
WHERE
  NOT step IS NULL
  AND trial_component IN (
    'resnet-training-job-aws-training-job',
    'bert-finetune-aws-training-job',
    'xgboost-aws-training-job'
  )
  AND metric_name IN ('train:loss', 'validation:loss', 'train:accuracy')
GROUP BY
  trial_component,
  metric_name,
  step
HAVING
  COUNT(DISTINCT value) > 1
ORDER BY
  trial_component,
  metric_name,
  step
LIMIT 10;
