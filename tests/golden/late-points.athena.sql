WITH sagemaker_metrics AS (
  SELECT
    event_time,
    trial_component,
    metric_name,
    step,
    value,
    metric_time
  FROM (
    SELECT
      event_time,
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
        ORDER BY day, account_id, region, event_time, trial_component, metric_name, step, value, metric_time
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
  value,
  metric_time,
  event_time,
  TO_UNIXTIME(event_time) - TO_UNIXTIME(metric_time) AS lag_seconds
FROM sagemaker_metrics
WHERE
  NOT metric_time IS NULL
  AND ABS(TO_UNIXTIME(event_time) - TO_UNIXTIME(metric_time)) >= 1.5
  AND trial_component IN (
    'resnet-training-job-aws-training-job',
    'bert-finetune-aws-training-job',
    'xgboost-aws-training-job'
  )
  AND metric_name IN ('train:loss', 'validation:loss', 'train:accuracy')
ORDER BY
  ABS(TO_UNIXTIME(event_time) - TO_UNIXTIME(metric_time)) DESC,
  trial_component,
  metric_name,
  step
LIMIT 10;
