SELECT
  trial_component,
  metric_name,
  step,
  COUNT(*) AS points,
  COUNT(DISTINCT value) AS distinct_values,
  MIN(value) AS min_value,
  MAX(value) AS max_value,
  MIN(event_time) AS first_logged,
  MAX(event_time) AS last_logged
FROM smtrail.sagemaker_metrics AS sagemaker_metrics
WHERE
  (
    NOT step IS NULL
    AND trial_component IN (
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
