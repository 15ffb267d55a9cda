WITH sagemaker_metrics AS (
  SELECT
    event_time,
    trial_component,
    metric_name,
    step
  FROM (
    SELECT
      event_time,
      trial_component,
      metric_name,
      step,
      day,
      account_id,
      region,
      event_id,
      point_index,
      ROW_NUMBER() OVER (
        PARTITION BY event_id, point_index
        ORDER BY day, account_id, region, event_time, trial_component, metric_name, step
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
  MAX(step) AS last_step,
  MIN(event_time) AS first_event_time,
  MAX(event_time) AS last_event_time
FROM sagemaker_metrics
WHERE
  trial_component IN (
    'resnet-training-job-aws-training-job',
    'bert-finetune-aws-training-job',
    'xgboost-aws-training-job'
  )
  AND trial_component LIKE '%training%' ESCAPE '\'
GROUP BY
  trial_component,
  metric_name
ORDER BY
  trial_component,
  metric_name
LIMIT 10;
