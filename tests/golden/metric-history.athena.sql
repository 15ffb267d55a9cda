SELECT
  step,
  metric_time,
  value,
  event_time,
  caller_arn
FROM smtrail.sagemaker_metrics AS sagemaker_metrics
WHERE
  (
    trial_component = 'resnet-training-job-aws-training-job'
    AND metric_name = 'train:loss'
  )
  AND (
    sagemaker_metrics.day >= '2024/05/01'
    AND sagemaker_metrics.day <= '2024/05/09'
    AND sagemaker_metrics.event_time >= CAST('2024-05-01 00:00:00.000' AS TIMESTAMP)
    AND sagemaker_metrics.event_time < CAST('2024-05-08 00:00:00.000' AS TIMESTAMP)
  )
ORDER BY
  step,
  metric_time,
  event_time,
  value
LIMIT 10;
