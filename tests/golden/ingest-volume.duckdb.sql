WITH sagemaker_metric_calls AS (
  SELECT
    account_id,
    region,
    day,
    trial_component,
    point_count,
    error_code
  FROM (
    SELECT
      account_id,
      region,
      day,
      trial_component,
      point_count,
      error_code,
      event_id,
      ROW_NUMBER() OVER (
        PARTITION BY event_id
        ORDER BY day, account_id, region, trial_component, point_count, error_code
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
  day,
  account_id,
  region,
  COUNT(*) AS calls,
  SUM(CASE WHEN error_code IS NULL THEN point_count ELSE 0 END) AS points,
  COUNT(error_code) AS failed_calls,
  COUNT(DISTINCT trial_component) AS trial_components,
  CAST(COUNT(*) AS DOUBLE) * 0.10 / 100000 AS data_event_cost_usd
FROM sagemaker_metric_calls
WHERE
  account_id IN ('123456789012', '210987654321')
  AND region IN ('us-east-1', 'eu-west-1')
GROUP BY
  day,
  account_id,
  region
ORDER BY
  day,
  account_id,
  region;
