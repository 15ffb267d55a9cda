WITH sagemaker_metrics AS (
  SELECT
    event_time,
    trial_component,
    metric_name,
    step,
    value,
    metric_time,
    caller_arn
  FROM (
    SELECT
      event_time,
      trial_component,
      metric_name,
      step,
      value,
      metric_time,
      caller_arn,
      day,
      account_id,
      region,
      event_id,
      point_index,
      ROW_NUMBER() OVER (
        PARTITION BY event_id, point_index
        ORDER BY day, account_id, region, event_time, trial_component, metric_name, step, value, metric_time, caller_arn
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
  metric_time,
  value,
  event_time,
  caller_arn
FROM sagemaker_metrics
WHERE
  trial_component IN (
    'resnet-training-job-aws-training-job',
    'bert-finetune-aws-training-job',
    'xgboost-aws-training-job'
  )
  AND metric_name IN ('train:loss', 'validation:loss', 'train:accuracy')
ORDER BY
  trial_component,
  metric_name,
  step,
  metric_time,
  event_time,
  value
LIMIT 10;
