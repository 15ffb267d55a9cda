SELECT
  caller_arn,
  error_code,
  COUNT(*) AS calls,
  SUM(point_count) AS points_lost,
  COUNT(DISTINCT trial_component) AS trial_components,
  MIN(event_time) AS first_failure,
  MAX(event_time) AS last_failure,
  MAX(error_message) AS sample_message
FROM smtrail.sagemaker_metric_calls AS sagemaker_metric_calls
WHERE
  (
    NOT error_code IS NULL AND error_code IN ('ThrottlingException', 'AccessDenied')
  )
  AND (
    sagemaker_metric_calls.day >= '2024/05/01'
    AND sagemaker_metric_calls.day <= '2024/05/09'
    AND sagemaker_metric_calls.event_time >= CAST('2024-05-01 00:00:00.000' AS TIMESTAMP)
    AND sagemaker_metric_calls.event_time < CAST('2024-05-08 00:00:00.000' AS TIMESTAMP)
  )
GROUP BY
  caller_arn,
  error_code
ORDER BY
  calls DESC,
  caller_arn,
  error_code
LIMIT 10;
