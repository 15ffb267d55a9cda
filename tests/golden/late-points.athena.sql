SELECT
  trial_component,
  metric_name,
  step,
  value,
  metric_time,
  event_time,
  TO_UNIXTIME(event_time) - TO_UNIXTIME(metric_time) AS lag_seconds
FROM smtrail.sagemaker_metrics AS sagemaker_metrics
WHERE
  (
    NOT metric_time IS NULL
    AND ABS(TO_UNIXTIME(event_time) - TO_UNIXTIME(metric_time)) >= 1.5
    AND trial_component IN (
      'resnet-training-job-aws-training-job',
      'bert-finetune-aws-training-job',
      'xgboost-aws-training-job'
    )
  )
  AND (
    sagemaker_metrics.day >= '2024/05/01'
    AND sagemaker_metrics.day <= '2024/05/09'
    AND sagemaker_metrics.event_time >= CAST('2024-05-01 00:00:00.000' AS TIMESTAMP)
    AND sagemaker_metrics.event_time < CAST('2024-05-08 00:00:00.000' AS TIMESTAMP)
  )
ORDER BY
  ABS(TO_UNIXTIME(event_time) - TO_UNIXTIME(metric_time)) DESC,
  trial_component,
  metric_name,
  step
LIMIT 10;
