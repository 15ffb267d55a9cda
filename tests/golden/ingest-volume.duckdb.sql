SELECT
  day,
  account_id,
  region,
  COUNT(*) AS calls,
  SUM(CASE WHEN error_code IS NULL THEN point_count ELSE 0 END) AS points,
  COUNT(error_code) AS failed_calls,
  COUNT(DISTINCT trial_component) AS trial_components,
  CAST(COUNT(*) AS DOUBLE) * 0.10 / 100000 AS data_event_cost_usd
FROM smtrail.sagemaker_metric_calls AS sagemaker_metric_calls
WHERE
  (
    account_id IN ('123456789012', '210987654321')
    AND region IN ('us-east-1', 'eu-west-1')
  )
  AND (
    sagemaker_metric_calls.day >= '2024/05/01'
    AND sagemaker_metric_calls.day <= '2024/05/09'
    AND sagemaker_metric_calls.event_time >= CAST('2024-05-01 00:00:00.000' AS TIMESTAMP)
    AND sagemaker_metric_calls.event_time < CAST('2024-05-08 00:00:00.000' AS TIMESTAMP)
  )
GROUP BY
  day,
  account_id,
  region
ORDER BY
  day,
  account_id,
  region;
