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
), ranked AS (
  SELECT
    trial_component,
    metric_name,
    step,
    value,
    metric_time,
    ROW_NUMBER() OVER (
      PARTITION BY trial_component, metric_name
      ORDER BY step DESC, metric_time DESC, value DESC
    ) AS from_last
  FROM sagemaker_metrics
  WHERE
    metric_name IN ('train:loss', 'validation:loss', 'train:accuracy')
    AND trial_component IN (
      'resnet-training-job-aws-training-job',
      'bert-finetune-aws-training-job',
      'xgboost-aws-training-job'
    )
), per_run AS (
  SELECT
    trial_component,
    metric_name,
    COUNT(*) AS points,
    MAX(step) AS last_step,
    MAX(CASE WHEN from_last = 1 THEN value END) AS last_value,
    MIN(value) AS min_value,
    MAX(value) AS max_value,
    FAVG(value) AS avg_value
  FROM ranked
  GROUP BY
    trial_component,
    metric_name
)
SELECT
  metric_name,
  trial_component,
  points,
  last_step,
  last_value,
  min_value,
  max_value,
  avg_value
FROM per_run
ORDER BY
  metric_name,
  CASE WHEN TRUE THEN last_value ELSE -last_value END,
  trial_component;
