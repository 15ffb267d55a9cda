-- name: names-present
-- description: The names the logs hold, and the first and last event time of each.
SELECT trial_component, metric_name, account_id, region, MIN(event_time) AS first_event_time,
  MAX(event_time) AS last_event_time
FROM sagemaker_metrics
GROUP BY trial_component, metric_name, account_id, region
UNION ALL
SELECT trial_component, CAST(NULL AS VARCHAR), account_id, region, MIN(event_time), MAX(event_time)
FROM sagemaker_metric_calls
GROUP BY trial_component, account_id, region
