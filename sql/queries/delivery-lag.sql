-- name: delivery-lag
-- description: How late CloudTrail delivered the BatchPutMetrics calls, per delivery day, account and region.
--   A call's lag is the time from its event_time to the start (00:00 UTC) of the delivery-day folder its file
--   is in, 0 when the folder is the event's own day: exactly the --delivery-lag a window ending right after the
--   call needs to read that folder. max_lag_hours is the largest lag (a --delivery-lag of at least that reads
--   every call of the day), p99_lag_hours the 99th percentile (nearest rank: the ceil(0.99 * calls)-th
--   smallest, exact), max_lag_days the most whole days between a call's date and its folder's date (a
--   --delivery-lag of that many days is always enough), and beyond_default_lag the calls more than a day
--   late, which a window with the default --delivery-lag of 1d can miss.
--   A window only reads folders up to its end plus --delivery-lag, so files later than that are not seen: run
--   it with --all-time (or --delivery-lag 31d) to find late deliveries.
-- param: account_ids list[str] optional  Only these account ids (comma-separated)
-- param: region_codes list[str] optional  Only these regions, e.g. us-east-1 (comma-separated)
WITH call_lags AS (
  SELECT
    day,
    account_id,
    region,
    -- a file in folder D was delivered on day D (UTC): its calls waited at least until D's first second
    GREATEST(to_unixtime(date_parse(day, '%Y/%m/%d')) - to_unixtime(event_time), 0) AS lag_seconds,
    date_diff('day', CAST(event_time AS DATE), CAST(date_parse(day, '%Y/%m/%d') AS DATE)) AS lag_days
  FROM sagemaker_metric_calls
  WHERE
    event_time IS NOT NULL
    AND account_id IN (:account_ids)
    AND region IN (:region_codes)
), ranked AS (
  SELECT
    day,
    account_id,
    region,
    lag_seconds,
    lag_days,
    -- exact percentiles, the same on every engine (approx_percentile is neither)
    ROW_NUMBER() OVER (PARTITION BY day, account_id, region ORDER BY lag_seconds) AS lag_rank,
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
  region
