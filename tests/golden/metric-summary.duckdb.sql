WITH ranked AS (
  SELECT
    trial_component,
    metric_name,
    step,
    value,
    metric_time,
    ROW_NUMBER() OVER (
      PARTITION BY trial_component, metric_name
      ORDER BY step ASC, metric_time ASC, value ASC
    ) AS from_first,
    ROW_NUMBER() OVER (
      PARTITION BY trial_component, metric_name
      ORDER BY step DESC, metric_time DESC, value DESC
    ) AS from_last
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
)
SELECT
  trial_component,
  metric_name,
  COUNT(*) AS points,
  MIN(value) AS min_value,
  MAX(value) AS max_value,
  AVG(value) AS avg_value,
  MAX(CASE WHEN from_first = 1 THEN value END) AS first_value,
  MAX(CASE WHEN from_last = 1 THEN value END) AS last_value,
  MAX(step) AS last_step,
  MIN(metric_time) AS first_metric_time,
  MAX(metric_time) AS last_metric_time
FROM ranked
GROUP BY
  trial_component,
  metric_name
ORDER BY
  trial_component,
  metric_name
LIMIT 10;
