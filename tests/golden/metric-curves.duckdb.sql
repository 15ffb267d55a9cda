SELECT
  trial_component,
  metric_name,
  step,
  value,
  metric_time,
  event_time
FROM smtrail.sagemaker_metrics AS sagemaker_metrics
WHERE
  (
    trial_component IN (
      'resnet-training-job-aws-training-job',
      'bert-finetune-aws-training-job',
      'xgboost-aws-training-job'
    )
    AND metric_name IN ('train:loss', 'validation:loss', 'train:accuracy')
  )
  AND (
    sagemaker_metrics.day >= '2024/05/01'
    AND sagemaker_metrics.day <= '2024/05/09'
    AND sagemaker_metrics.event_time >= CAST('2024-05-01 00:00:00.000' AS TIMESTAMP)
    AND sagemaker_metrics.event_time < CAST('2024-05-08 00:00:00.000' AS TIMESTAMP)
  )
ORDER BY
  trial_component,
  metric_name,
  step,
  metric_time,
  value
LIMIT 10;
