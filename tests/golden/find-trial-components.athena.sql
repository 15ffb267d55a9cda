WITH sagemaker_metrics AS (
  SELECT
    event_time,
    trial_component,
    trial_component_arn,
    metric_name
  FROM (
    SELECT
      event_time,
      trial_component,
      trial_component_arn,
      metric_name,
      day,
      account_id,
      region,
      event_id,
      point_index,
      ROW_NUMBER() OVER (
        PARTITION BY event_id, point_index
        ORDER BY day, account_id, region, event_time, trial_component, trial_component_arn, metric_name
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
  CASE
    WHEN trial_component LIKE '%-aws-training-job'
    THEN REGEXP_REPLACE(trial_component, '-aws-training-job$', '')
  END AS training_job,
  COUNT(DISTINCT metric_name) AS metrics,
  COUNT(*) AS points,
  MIN(event_time) AS first_event_time,
  MAX(event_time) AS last_event_time,
  MIN(trial_component_arn) AS trial_component_arn
FROM sagemaker_metrics
WHERE
  trial_component LIKE 'resnet-training-job' ESCAPE '\'
  OR trial_component LIKE (
    'resnet-training-job' || '-aws-training-job'
  ) ESCAPE '\'
GROUP BY
  trial_component
ORDER BY
  last_event_time DESC,
  trial_component
LIMIT 10;
