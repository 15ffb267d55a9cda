-- name: find-trial-components
-- description: The trial components of a SageMaker job, or those whose names match a glob.
--   A training job's trial component is named JOB-aws-training-job: job=my-job finds my-job's, and a glob
--   such as job=resnet* finds every trial component whose name (or whose job's name) matches it.
-- param: job glob required  A job name, a trial component name, or a glob such as resnet* (* any characters, ? one)
-- param: limit int = 1000  Most rows to return
SELECT
  trial_component,
  CASE
    WHEN trial_component LIKE '%-aws-training-job'
    THEN regexp_replace(trial_component, '-aws-training-job$', '')
  END AS training_job,
  COUNT(DISTINCT metric_name) AS metrics,
  COUNT(*) AS points,
  MIN(event_time) AS first_event_time,
  MAX(event_time) AS last_event_time,
  MIN(trial_component_arn) AS trial_component_arn
FROM sagemaker_metrics
WHERE
  trial_component LIKE :job ESCAPE '\'
  OR trial_component LIKE (:job || '-aws-training-job') ESCAPE '\'
GROUP BY
  trial_component
ORDER BY
  last_event_time DESC,
  trial_component
LIMIT :limit
