SELECT
  caller_arn,
  user_agent,
  source_ip,
  COUNT(*) AS calls,
  COUNT(error_code) AS failed_calls,
  SUM(CASE WHEN error_code IS NULL THEN point_count ELSE 0 END) AS points,
  COUNT(DISTINCT trial_component) AS trial_components,
  MIN(event_time) AS first_call,
  MAX(event_time) AS last_call
FROM smtrail.sagemaker_metric_calls AS sagemaker_metric_calls
WHERE
  sagemaker_metric_calls.day >= '2024/05/01'
  AND sagemaker_metric_calls.day <= '2024/05/09'
  AND sagemaker_metric_calls.event_time >= CAST('2024-05-01 00:00:00.000' AS TIMESTAMP)
  AND sagemaker_metric_calls.event_time < CAST('2024-05-08 00:00:00.000' AS TIMESTAMP)
GROUP BY
  caller_arn,
  user_agent,
  source_ip
ORDER BY
  calls DESC,
  caller_arn,
  user_agent,
  source_ip
LIMIT 10;
