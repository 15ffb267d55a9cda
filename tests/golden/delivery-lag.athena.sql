WITH sagemaker_metric_calls AS (
  SELECT
    account_id,
    region,
    day,
    event_time
  FROM (
    SELECT
      account_id,
      region,
      day,
      event_time,
      event_id,
      ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY day, account_id, region, event_time) AS copy_number
    FROM smtrail.sagemaker_metric_calls
    WHERE
      day >= '2024/05/01'
      AND day <= '2024/05/09'
      AND event_time >= CAST('2024-05-01 00:00:00.000' AS TIMESTAMP)
      AND event_time < CAST('2024-05-08 00:00:00.000' AS TIMESTAMP)
  ) AS copies
  WHERE
    copy_number = 1 OR event_id IS NULL
), call_lags AS (
  SELECT
    day,
    account_id,
    region,
    GREATEST(TO_UNIXTIME(DATE_PARSE(day, '%Y/%m/%d')) - TO_UNIXTIME(event_time), 0) AS lag_seconds, /* a file in folder D was delivered on day D (UTC): its calls waited at least until D's first second */
    DATE_DIFF('DAY', CAST(event_time AS DATE), CAST(DATE_PARSE(day, '%Y/%m/%d') AS DATE)) AS lag_days
  FROM sagemaker_metric_calls
  WHERE
    NOT event_time IS NULL
    AND account_id IN ('123456789012', '210987654321')
    AND region IN ('us-east-1', 'eu-west-1')
), ranked AS (
  SELECT
    day,
    account_id,
    region,
    lag_seconds,
    lag_days,
    ROW_NUMBER() OVER (PARTITION BY day, account_id, region ORDER BY lag_seconds) AS lag_rank, /* exact percentiles, the same on every engine (approx_percentile is neither) */
    COUNT(*) OVER (PARTITION BY day, account_id, region) AS calls
  FROM call_lags
)
SELECT
  day,
  account_id,
  region,
  MAX(calls) AS calls,
  MAX(lag_days) AS max_lag_days,
  MAX(lag_seconds) / 3600 AS max_lag_hours,
  MAX(CASE WHEN lag_rank = CEIL(0.99 * calls) THEN lag_seconds END) / 3600 AS p99_lag_hours,
  COUNT(CASE WHEN lag_seconds > 86400 THEN 1 END) AS beyond_default_lag
FROM ranked
GROUP BY
  day,
  account_id,
  region
ORDER BY
  day,
  account_id,
  region;
