WITH sagemaker_metric_calls AS (
  SELECT
    event_time,
    trial_component,
    point_count,
    error_code,
    error_message,
    caller_arn
  FROM (
    SELECT
      event_time,
      trial_component,
      point_count,
      error_code,
      error_message,
      caller_arn,
      day,
      account_id,
      region,
      event_id,
      ROW_NUMBER() OVER (
        PARTITION BY event_id
        ORDER BY day, account_id, region, event_time, trial_component, point_count, error_code, error_message, caller_arn
      ) AS copy_number
    FROM smtrail.sagemaker_metric_calls
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
  caller_arn,
  error_code,
  COUNT(*) AS calls,
  SUM(point_count) AS points_lost,
  COUNT(DISTINCT trial_component) AS trial_components,
  MIN(event_time) AS first_event_time,
  MAX(event_time) AS last_event_time,
  MAX(error_message) AS sample_message
FROM sagemaker_metric_calls
WHERE
  NOT error_code IS NULL AND error_code IN ('ThrottlingException', 'AccessDenied')
GROUP BY
  caller_arn,
  error_code
ORDER BY
  calls DESC,
  caller_arn,
  error_code
LIMIT 10;
