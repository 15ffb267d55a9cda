WITH sagemaker_metric_calls AS (
  SELECT
    event_time,
    trial_component,
    point_count,
    error_code,
    caller_arn,
    user_agent,
    source_ip
  FROM (
    SELECT
      event_time,
      trial_component,
      point_count,
      error_code,
      caller_arn,
      user_agent,
      source_ip,
      day,
      account_id,
      region,
      event_id,
      ROW_NUMBER() OVER (
        PARTITION BY event_id
        ORDER BY day, account_id, region, event_time, trial_component, point_count, error_code, caller_arn, user_agent, source_ip
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
  user_agent,
  source_ip,
  COUNT(*) AS calls,
  COUNT(error_code) AS failed_calls,
  SUM(CASE WHEN error_code IS NULL THEN point_count ELSE 0 END) AS points,
  COUNT(DISTINCT trial_component) AS trial_components,
  MIN(event_time) AS first_event_time,
  MAX(event_time) AS last_event_time
FROM sagemaker_metric_calls
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
