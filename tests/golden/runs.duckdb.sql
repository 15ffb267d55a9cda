SELECT
  trial_component,
  MIN(event_time) AS first_event,
  MAX(event_time) AS last_event,
  COUNT(*) AS points,
  COUNT(DISTINCT metric_name) AS metrics,
  MAX(step) AS last_step,
  COUNT(DISTINCT caller_arn) AS callers,
  COUNT(DISTINCT account_id) AS accounts,
  MIN(trial_component_arn) AS trial_component_arn
FROM smtrail.sagemaker_metrics AS sagemaker_metrics
WHERE
  trial_component LIKE '%training%'
  AND (
    sagemaker_metrics.day >= '2024/05/01'
    AND sagemaker_metrics.day <= '2024/05/09'
    AND sagemaker_metrics.event_time >= CAST('2024-05-01 00:00:00.000' AS TIMESTAMP)
    AND sagemaker_metrics.event_time < CAST('2024-05-08 00:00:00.000' AS TIMESTAMP)
  )
GROUP BY
  trial_component
ORDER BY
  last_event DESC,
  trial_component
LIMIT 10;
