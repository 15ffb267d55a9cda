-- version: 2
-- description: The metric views read every time as one UTC instant (milliseconds), number each point, keep every copy of an event, and never fail a query.
--
-- Why this version (each was found by running version 1 on Trino, the engine Athena v3 is built on):
-- * CAST(from_iso8601_timestamp(x) AS TIMESTAMP) keeps the wall clock of x's own zone in Trino, and Athena has at
--   times refused that cast: times are now computed as epoch milliseconds with plain arithmetic, zone-free.
-- * from_unixtime(1e20) failed the whole query; nothing outside TRY/TRY_CAST can fail now.
-- * The views deduplicated with DISTINCT over every column and the partition, which counted an event delivered
--   on two days twice and computed every column of every query. The views now keep every copy, and each
--   rendered query deduplicates on (event_id, point_index) after its time window (see the README): the
--   window's day predicate still reaches the table scan, and only the columns a query uses are computed.
-- This file is released once shipped: never edit it. A change is a new numbered file.

-- One row per metric point of a successful BatchPutMetrics call, for every copy of the call that was read.
-- Deduplicate on (event_id, point_index) in your own queries: smtrail-sql's rendered queries do.
--
-- The rules every engine honours (the local engine's reader implements the same):
-- * value: a JSON number (or a string holding one, in JSON's own number grammar) that is finite; else NULL.
-- * step: an integer that fits BIGINT, or a number with an integral value below 2^53; else NULL.
-- * metric_time (the point's timestamp) and event_time: epoch milliseconds when the number is >= 1e11, epoch
--   seconds below that, or an ISO-8601 date and time 'YYYY-MM-DD[T ]HH:MM[:SS[.fff]][Z|+HH[:MM]|-HH[:MM]]'
--   (no zone: UTC); rounded half away from zero to the millisecond; NULL outside the years 1 to 9999 and for
--   anything else. The result is a TIMESTAMP in UTC.
-- * a point that is not a JSON object keeps its position (point_index) with NULL fields.
-- * requestparameters that is not one whole JSON text (trailing text, cut short) gives no trial component and no
--   points; inside it, the first of two equal keys wins (json_extract reads the text as it is written).
CREATE OR REPLACE VIEW sagemaker_metrics AS
SELECT
  account_id,
  region,
  day,
  CASE
    WHEN event_ms >= -62135596800000 AND event_ms < 253402300800000
    THEN date_add(
      'millisecond',
      CAST(event_ms - floor(event_ms / 86400000) * 86400000 AS BIGINT),
      date_add('day', CAST(floor(event_ms / 86400000) AS BIGINT), TIMESTAMP '1970-01-01 00:00:00.000')
    )
  END AS event_time,
  event_id,
  point_index,
  trial_component,
  trial_component_arn,
  metric_name,
  CASE
    WHEN regexp_like(step_text, '^-?(0|[1-9][0-9]*)$')
    THEN TRY_CAST(step_text AS BIGINT)
    WHEN regexp_like(step_text, '^-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?$')
      AND abs(TRY_CAST(step_text AS DOUBLE)) < 9007199254740992
      AND TRY_CAST(step_text AS DOUBLE) = floor(TRY_CAST(step_text AS DOUBLE))
    THEN CAST(TRY_CAST(step_text AS DOUBLE) AS BIGINT)
  END AS step,
  CASE
    WHEN regexp_like(value_text, '^-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?$')
      AND abs(TRY_CAST(value_text AS DOUBLE)) <= 1.7976931348623157e308
    THEN TRY_CAST(value_text AS DOUBLE)
  END AS value,
  CASE
    WHEN metric_ms >= -62135596800000 AND metric_ms < 253402300800000
    THEN date_add(
      'millisecond',
      CAST(metric_ms - floor(metric_ms / 86400000) * 86400000 AS BIGINT),
      date_add('day', CAST(floor(metric_ms / 86400000) AS BIGINT), TIMESTAMP '1970-01-01 00:00:00.000')
    )
  END AS metric_time,
  caller_arn,
  user_agent,
  source_ip
FROM (
  SELECT
    points.*,
    CASE
      WHEN regexp_like(event_time_text, '^-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?$')
      THEN round(
        IF(
          TRY_CAST(event_time_text AS DOUBLE) >= 1e11,
          TRY_CAST(event_time_text AS DOUBLE),
          TRY_CAST(event_time_text AS DOUBLE) * 1000
        )
      )
      WHEN regexp_like(
        event_time_text,
        '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]+)?)?(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?$'
      )
      THEN (
        date_diff('day', DATE '1970-01-01', TRY_CAST(substr(event_time_text, 1, 10) AS DATE)) * 86400
        + CAST(substr(event_time_text, 12, 2) AS BIGINT) * 3600
        + CAST(substr(event_time_text, 15, 2) AS BIGINT) * 60
        + IF(substr(event_time_text, 17, 1) = ':', CAST(substr(event_time_text, 18, 2) AS BIGINT), 0)
        - IF(
          regexp_like(substr(event_time_text, 17), '[+-]'),
          IF(regexp_like(substr(event_time_text, 17), '-'), -1, 1) * (
            CAST(substr(regexp_extract(substr(event_time_text, 17), '[+-][0-9:]+$'), 2, 2) AS BIGINT) * 3600
            + COALESCE(
              TRY_CAST(substr(replace(regexp_extract(substr(event_time_text, 17), '[+-][0-9:]+$'), ':', ''), 4, 2)
                AS BIGINT),
              0
            ) * 60
          ),
          0
        )
      ) * 1000 + round(
        COALESCE(TRY_CAST(concat('0', regexp_extract(substr(event_time_text, 17), '[.][0-9]+')) AS DOUBLE), 0)
        * 1000
      )
    END AS event_ms,
    CASE
      WHEN regexp_like(metric_time_text, '^-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?$')
      THEN round(
        IF(
          TRY_CAST(metric_time_text AS DOUBLE) >= 1e11,
          TRY_CAST(metric_time_text AS DOUBLE),
          TRY_CAST(metric_time_text AS DOUBLE) * 1000
        )
      )
      WHEN regexp_like(
        metric_time_text,
        '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]+)?)?(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?$'
      )
      THEN (
        date_diff('day', DATE '1970-01-01', TRY_CAST(substr(metric_time_text, 1, 10) AS DATE)) * 86400
        + CAST(substr(metric_time_text, 12, 2) AS BIGINT) * 3600
        + CAST(substr(metric_time_text, 15, 2) AS BIGINT) * 60
        + IF(substr(metric_time_text, 17, 1) = ':', CAST(substr(metric_time_text, 18, 2) AS BIGINT), 0)
        - IF(
          regexp_like(substr(metric_time_text, 17), '[+-]'),
          IF(regexp_like(substr(metric_time_text, 17), '-'), -1, 1) * (
            CAST(substr(regexp_extract(substr(metric_time_text, 17), '[+-][0-9:]+$'), 2, 2) AS BIGINT) * 3600
            + COALESCE(
              TRY_CAST(substr(replace(regexp_extract(substr(metric_time_text, 17), '[+-][0-9:]+$'), ':', ''), 4, 2)
                AS BIGINT),
              0
            ) * 60
          ),
          0
        )
      ) * 1000 + round(
        COALESCE(TRY_CAST(concat('0', regexp_extract(substr(metric_time_text, 17), '[.][0-9]+')) AS DOUBLE), 0)
        * 1000
      )
    END AS metric_ms
  FROM (
    SELECT
      c.account_id,
      c.region,
      c.day,
      c.event_time_text,
      c.event_id,
      p.point_index,
      c.trial_component,
      c.trial_component_arn,
      json_extract_scalar(p.point, '$.metricName') AS metric_name,
      json_extract_scalar(p.point, '$.step') AS step_text,
      json_extract_scalar(p.point, '$.value') AS value_text,
      json_extract_scalar(p.point, '$.timestamp') AS metric_time_text,
      c.caller_arn,
      c.user_agent,
      c.source_ip
    FROM (
      SELECT
        e.account_id,
        e.region,
        e.day,
        e.eventtime AS event_time_text,
        e.eventid AS event_id,
        -- (json_extract stops at what it seeks: only a whole JSON text counts, as on every engine)
        CASE
          WHEN TRY(json_parse(e.requestparameters)) IS NOT NULL
          THEN TRY(json_extract_scalar(e.requestparameters, '$.trialComponentName'))
        END AS trial_component,
        element_at(
          filter(e.resources, r -> r.type = 'AWS::SageMaker::ExperimentTrialComponent'), 1
        ).arn AS trial_component_arn,
        CASE
          WHEN TRY(json_parse(e.requestparameters)) IS NOT NULL
          THEN TRY_CAST(TRY(json_extract(e.requestparameters, '$.metricData')) AS ARRAY(JSON))
        END AS metric_data,
        e.useridentity.arn AS caller_arn,
        e.useragent AS user_agent,
        e.sourceipaddress AS source_ip
      FROM cloudtrail_events AS e
      WHERE
        e.eventsource = 'metrics-sagemaker.amazonaws.com'
        AND e.eventname = 'BatchPutMetrics'
        AND e.errorcode IS NULL
    ) AS c
    CROSS JOIN UNNEST(c.metric_data) WITH ORDINALITY AS p(point, point_index)
  ) AS points
) AS timed_points;

-- One row per copy of a BatchPutMetrics call that was read, failed calls included (error_code set): what was
-- sent, by whom, and whether it was stored. Deduplicate on event_id in your own queries: smtrail-sql's
-- rendered queries do. event_time follows the rules of sagemaker_metrics.
CREATE OR REPLACE VIEW sagemaker_metric_calls AS
SELECT
  account_id,
  region,
  day,
  CASE
    WHEN event_ms >= -62135596800000 AND event_ms < 253402300800000
    THEN date_add(
      'millisecond',
      CAST(event_ms - floor(event_ms / 86400000) * 86400000 AS BIGINT),
      date_add('day', CAST(floor(event_ms / 86400000) AS BIGINT), TIMESTAMP '1970-01-01 00:00:00.000')
    )
  END AS event_time,
  event_id,
  trial_component,
  trial_component_arn,
  point_count,
  error_code,
  error_message,
  caller_arn,
  user_agent,
  source_ip
FROM (
  SELECT
    calls.*,
    CASE
      WHEN regexp_like(event_time_text, '^-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?$')
      THEN round(
        IF(
          TRY_CAST(event_time_text AS DOUBLE) >= 1e11,
          TRY_CAST(event_time_text AS DOUBLE),
          TRY_CAST(event_time_text AS DOUBLE) * 1000
        )
      )
      WHEN regexp_like(
        event_time_text,
        '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]+)?)?(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?$'
      )
      THEN (
        date_diff('day', DATE '1970-01-01', TRY_CAST(substr(event_time_text, 1, 10) AS DATE)) * 86400
        + CAST(substr(event_time_text, 12, 2) AS BIGINT) * 3600
        + CAST(substr(event_time_text, 15, 2) AS BIGINT) * 60
        + IF(substr(event_time_text, 17, 1) = ':', CAST(substr(event_time_text, 18, 2) AS BIGINT), 0)
        - IF(
          regexp_like(substr(event_time_text, 17), '[+-]'),
          IF(regexp_like(substr(event_time_text, 17), '-'), -1, 1) * (
            CAST(substr(regexp_extract(substr(event_time_text, 17), '[+-][0-9:]+$'), 2, 2) AS BIGINT) * 3600
            + COALESCE(
              TRY_CAST(substr(replace(regexp_extract(substr(event_time_text, 17), '[+-][0-9:]+$'), ':', ''), 4, 2)
                AS BIGINT),
              0
            ) * 60
          ),
          0
        )
      ) * 1000 + round(
        COALESCE(TRY_CAST(concat('0', regexp_extract(substr(event_time_text, 17), '[.][0-9]+')) AS DOUBLE), 0)
        * 1000
      )
    END AS event_ms
  FROM (
    SELECT
      e.account_id,
      e.region,
      e.day,
      e.eventtime AS event_time_text,
      e.eventid AS event_id,
      CASE
        WHEN TRY(json_parse(e.requestparameters)) IS NOT NULL
        THEN TRY(json_extract_scalar(e.requestparameters, '$.trialComponentName'))
      END AS trial_component,
      element_at(
        filter(e.resources, r -> r.type = 'AWS::SageMaker::ExperimentTrialComponent'), 1
      ).arn AS trial_component_arn,
      CASE
        WHEN TRY(json_parse(e.requestparameters)) IS NOT NULL
        THEN COALESCE(TRY_CAST(json_array_length(TRY(json_extract(e.requestparameters, '$.metricData'))) AS BIGINT), 0)
        ELSE 0
      END AS point_count,
      e.errorcode AS error_code,
      e.errormessage AS error_message,
      e.useridentity.arn AS caller_arn,
      e.useragent AS user_agent,
      e.sourceipaddress AS source_ip
    FROM cloudtrail_events AS e
    WHERE
      e.eventsource = 'metrics-sagemaker.amazonaws.com'
      AND e.eventname = 'BatchPutMetrics'
  ) AS calls
) AS timed_calls;
