CREATE DATABASE IF NOT EXISTS smtrail;

CREATE EXTERNAL TABLE IF NOT EXISTS smtrail.cloudtrail_events (
  `eventversion` STRING,
  `useridentity` STRUCT<
    `type`: STRING,
    `principalid`: STRING,
    `arn`: STRING,
    `accountid`: STRING,
    `invokedby`: STRING,
    `accesskeyid`: STRING,
    `username`: STRING,
    `onbehalfof`: STRUCT<`userid`: STRING, `identitystorearn`: STRING>,
    `sessioncontext`: STRUCT<
      `attributes`: STRUCT<`mfaauthenticated`: STRING, `creationdate`: STRING>,
      `sessionissuer`: STRUCT<
        `type`: STRING,
        `principalid`: STRING,
        `arn`: STRING,
        `accountid`: STRING,
        `username`: STRING
      >,
      `ec2roledelivery`: STRING,
      `sourceidentity`: STRING
    >
  >,
  `eventtime` STRING,
  `eventsource` STRING,
  `eventname` STRING,
  `awsregion` STRING,
  `sourceipaddress` STRING,
  `useragent` STRING,
  `errorcode` STRING,
  `errormessage` STRING,
  `requestparameters` STRING,
  `responseelements` STRING,
  `additionaleventdata` STRING,
  `requestid` STRING,
  `eventid` STRING,
  `readonly` STRING,
  `resources` ARRAY<STRUCT<`arn`: STRING, `accountid`: STRING, `type`: STRING>>,
  `eventtype` STRING,
  `apiversion` STRING,
  `managementevent` STRING,
  `recipientaccountid` STRING,
  `serviceeventdetails` STRING,
  `sharedeventid` STRING,
  `vpcendpointid` STRING,
  `vpcendpointaccountid` STRING,
  `eventcategory` STRING,
  `sessioncredentialfromconsole` STRING,
  `edgedevicedetails` STRING,
  `tlsdetails` STRUCT<`tlsversion`: STRING, `ciphersuite`: STRING, `clientprovidedhostheader`: STRING>
)
COMMENT 'CloudTrail events (smtrail-sql)'
PARTITIONED BY (
  `account_id` STRING,
  `region` STRING,
  `day` STRING
)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://example-trail-bucket/audit/AWSLogs/o-exampleorg1/123456789012/CloudTrail/'
TBLPROPERTIES (
  'classification'='cloudtrail',
  'projection.enabled'='true',
  'projection.account_id.type'='enum',
  'projection.account_id.values'='123456789012,210987654321',
  'projection.region.type'='enum',
  'projection.region.values'='us-east-1,eu-west-1',
  'projection.day.type'='date',
  'projection.day.format'='yyyy/MM/dd',
  'projection.day.range'='2024/01/01,NOW',
  'projection.day.interval'='1',
  'projection.day.interval.unit'='DAYS',
  'storage.location.template'='s3://example-trail-bucket/audit/AWSLogs/o-exampleorg1/${account_id}/CloudTrail/${region}/${day}'
);

-- One row per metric point stored by a successful BatchPutMetrics call.
-- metricData is a JSON array inside the requestparameters string: it is unnested as JSON and read key by key
-- (casting to ARRAY(ROW(...)) would lower-case the keys in Trino but not in DuckDB). TRY/TRY_CAST keep one
-- malformed event from failing the whole query. A point's timestamp may be epoch milliseconds (CloudTrail's
-- documented example), epoch seconds (the SDK) or an ISO-8601 string: all become one UTC timestamp.
-- An event read twice (overlapping copies of a file) is counted once: DISTINCT over the point and its position
-- in the call. The partition columns are part of that key, so filters on them still prune.
CREATE OR REPLACE VIEW smtrail.sagemaker_metrics AS
SELECT
  account_id,
  region,
  day,
  event_time,
  event_id,
  trial_component,
  trial_component_arn,
  metric_name,
  step,
  value,
  metric_time,
  caller_arn,
  user_agent,
  source_ip
FROM (
  SELECT DISTINCT
    e.account_id,
    e.region,
    e.day,
    TRY(CAST(FROM_ISO8601_TIMESTAMP(e.eventtime) AS TIMESTAMP)) AS event_time,
    e.eventid AS event_id,
    JSON_EXTRACT_SCALAR(e.requestparameters, '$.trialComponentName') AS trial_component,
    ELEMENT_AT(FILTER(e.resources, r -> r.type = 'AWS::SageMaker::ExperimentTrialComponent'), 1).arn AS trial_component_arn,
    p.point_index,
    JSON_EXTRACT_SCALAR(p.point, '$.metricName') AS metric_name,
    TRY_CAST(JSON_EXTRACT_SCALAR(p.point, '$.step') AS BIGINT) AS step,
    TRY_CAST(JSON_EXTRACT_SCALAR(p.point, '$.value') AS DOUBLE) AS value,
    CASE
      WHEN TRY_CAST(JSON_EXTRACT_SCALAR(p.point, '$.timestamp') AS DOUBLE) >= 1e11
      THEN CAST(FROM_UNIXTIME(TRY_CAST(JSON_EXTRACT_SCALAR(p.point, '$.timestamp') AS DOUBLE) / 1000) AS TIMESTAMP)
      WHEN NOT TRY_CAST(JSON_EXTRACT_SCALAR(p.point, '$.timestamp') AS DOUBLE) IS NULL
      THEN CAST(FROM_UNIXTIME(TRY_CAST(JSON_EXTRACT_SCALAR(p.point, '$.timestamp') AS DOUBLE)) AS TIMESTAMP)
      ELSE TRY(
        CAST(FROM_ISO8601_TIMESTAMP(JSON_EXTRACT_SCALAR(p.point, '$.timestamp')) AS TIMESTAMP)
      )
    END AS metric_time,
    e.useridentity.arn AS caller_arn,
    e.useragent AS user_agent,
    e.sourceipaddress AS source_ip
  FROM smtrail.cloudtrail_events AS e
  CROSS JOIN UNNEST(TRY_CAST(JSON_EXTRACT(e.requestparameters, '$.metricData') AS ARRAY(JSON))) WITH ORDINALITY AS p(point, point_index)
  WHERE
    e.eventsource = 'metrics-sagemaker.amazonaws.com'
    AND e.eventname = 'BatchPutMetrics'
    AND e.errorcode IS NULL
) AS stored_points;

-- One row per BatchPutMetrics call, failed calls included (error_code set): what was sent, by whom, and
-- whether it was stored. An event read twice is counted once.
CREATE OR REPLACE VIEW smtrail.sagemaker_metric_calls AS
SELECT DISTINCT
  e.account_id,
  e.region,
  e.day,
  TRY(CAST(FROM_ISO8601_TIMESTAMP(e.eventtime) AS TIMESTAMP)) AS event_time,
  e.eventid AS event_id,
  JSON_EXTRACT_SCALAR(e.requestparameters, '$.trialComponentName') AS trial_component,
  ELEMENT_AT(FILTER(e.resources, r -> r.type = 'AWS::SageMaker::ExperimentTrialComponent'), 1).arn AS trial_component_arn,
  COALESCE(
    TRY_CAST(JSON_ARRAY_LENGTH(JSON_EXTRACT(e.requestparameters, '$.metricData')) AS BIGINT),
    0
  ) AS point_count,
  e.errorcode AS error_code,
  e.errormessage AS error_message,
  e.useridentity.arn AS caller_arn,
  e.useragent AS user_agent,
  e.sourceipaddress AS source_ip
FROM smtrail.cloudtrail_events AS e
WHERE
  e.eventsource = 'metrics-sagemaker.amazonaws.com'
  AND e.eventname = 'BatchPutMetrics';

ALTER TABLE smtrail.cloudtrail_events SET TBLPROPERTIES ('smtrail.schema_version'='1');

-- One row per metric point of a successful BatchPutMetrics call, for every copy of the call that was read.
-- Deduplicate on (event_id, point_index) in your own queries: smtrail-sql's rendered queries do.
--
-- The rules every engine honours (the local engine's reader implements the same):
-- * value: a JSON number (or a string holding one, in JSON's own number grammar) that is finite; else NULL.
-- * step: an integer that fits BIGINT, or a number with an integral value below 2^53; else NULL.
-- * metric_time (the point's timestamp) and event_time: epoch milliseconds when the number is >= 1e11, epoch
-- seconds below that, or an ISO-8601 date and time 'YYYY-MM-DD[T ]HH:MM[:SS[.fff]][Z|+HH[:MM]|-HH[:MM]]'
-- (no zone: UTC); rounded half away from zero to the millisecond; NULL outside the years 1 to 9999 and for
-- anything else. The result is a TIMESTAMP in UTC.
-- * a point that is not a JSON object keeps its position (point_index) with NULL fields.
-- * requestparameters that is not one whole JSON text (trailing text, cut short) gives no trial component and no
-- points; inside it, the first of two equal keys wins (json_extract reads the text as it is written).
CREATE OR REPLACE VIEW smtrail.sagemaker_metrics AS
SELECT
  account_id,
  region,
  day,
  CASE
    WHEN event_ms >= -62135596800000 AND event_ms < 253402300800000
    THEN DATE_ADD(
      'MILLISECOND',
      CAST(event_ms - FLOOR(event_ms / 86400000) * 86400000 AS BIGINT),
      DATE_ADD(
        'DAY',
        CAST(FLOOR(event_ms / 86400000) AS BIGINT),
        CAST('1970-01-01 00:00:00.000' AS TIMESTAMP(3))
      )
    )
  END AS event_time,
  event_id,
  point_index,
  trial_component,
  trial_component_arn,
  metric_name,
  CASE
    WHEN REGEXP_LIKE(step_text, '^-?(0|[1-9][0-9]*)$')
    THEN TRY_CAST(step_text AS BIGINT)
    WHEN REGEXP_LIKE(step_text, '^-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?$')
    AND ABS(TRY_CAST(step_text AS DOUBLE)) < 9007199254740992
    AND TRY_CAST(step_text AS DOUBLE) = FLOOR(TRY_CAST(step_text AS DOUBLE))
    THEN CAST(TRY_CAST(step_text AS DOUBLE) AS BIGINT)
  END AS step,
  CASE
    WHEN REGEXP_LIKE(value_text, '^-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?$')
    AND ABS(TRY_CAST(value_text AS DOUBLE)) <= 1.7976931348623157e308
    THEN TRY_CAST(value_text AS DOUBLE)
  END AS value,
  CASE
    WHEN metric_ms >= -62135596800000 AND metric_ms < 253402300800000
    THEN DATE_ADD(
      'MILLISECOND',
      CAST(metric_ms - FLOOR(metric_ms / 86400000) * 86400000 AS BIGINT),
      DATE_ADD(
        'DAY',
        CAST(FLOOR(metric_ms / 86400000) AS BIGINT),
        CAST('1970-01-01 00:00:00.000' AS TIMESTAMP(3))
      )
    )
  END AS metric_time,
  caller_arn,
  user_agent,
  source_ip
FROM (
  SELECT
    points.*,
    CASE
      WHEN REGEXP_LIKE(event_time_text, '^-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?$')
      THEN ROUND(
        IF(
          TRY_CAST(event_time_text AS DOUBLE) >= 1e11,
          TRY_CAST(event_time_text AS DOUBLE),
          TRY_CAST(event_time_text AS DOUBLE) * 1000
        )
      )
      WHEN REGEXP_LIKE(
        event_time_text,
        '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]+)?)?(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?$'
      )
      THEN (
        DATE_DIFF('DAY', CAST('1970-01-01' AS DATE), TRY_CAST(SUBSTR(event_time_text, 1, 10) AS DATE)) * 86400 + CAST(SUBSTR(event_time_text, 12, 2) AS BIGINT) * 3600 + CAST(SUBSTR(event_time_text, 15, 2) AS BIGINT) * 60 + IF(
          SUBSTR(event_time_text, 17, 1) = ':',
          CAST(SUBSTR(event_time_text, 18, 2) AS BIGINT),
          0
        ) - IF(
          REGEXP_LIKE(SUBSTR(event_time_text, 17), '[+-]'),
          IF(REGEXP_LIKE(SUBSTR(event_time_text, 17), '-'), -1, 1) * (
            CAST(SUBSTR(REGEXP_EXTRACT(SUBSTR(event_time_text, 17), '[+-][0-9:]+$'), 2, 2) AS BIGINT) * 3600 + COALESCE(
              TRY_CAST(SUBSTR(REPLACE(REGEXP_EXTRACT(SUBSTR(event_time_text, 17), '[+-][0-9:]+$'), ':', ''), 4, 2) AS BIGINT),
              0
            ) * 60
          ),
          0
        )
      ) * 1000 + ROUND(
        COALESCE(
          TRY_CAST(CONCAT('0', REGEXP_EXTRACT(SUBSTR(event_time_text, 17), '[.][0-9]+')) AS DOUBLE),
          0
        ) * 1000
      )
    END AS event_ms,
    CASE
      WHEN REGEXP_LIKE(metric_time_text, '^-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?$')
      THEN ROUND(
        IF(
          TRY_CAST(metric_time_text AS DOUBLE) >= 1e11,
          TRY_CAST(metric_time_text AS DOUBLE),
          TRY_CAST(metric_time_text AS DOUBLE) * 1000
        )
      )
      WHEN REGEXP_LIKE(
        metric_time_text,
        '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]+)?)?(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?$'
      )
      THEN (
        DATE_DIFF('DAY', CAST('1970-01-01' AS DATE), TRY_CAST(SUBSTR(metric_time_text, 1, 10) AS DATE)) * 86400 + CAST(SUBSTR(metric_time_text, 12, 2) AS BIGINT) * 3600 + CAST(SUBSTR(metric_time_text, 15, 2) AS BIGINT) * 60 + IF(
          SUBSTR(metric_time_text, 17, 1) = ':',
          CAST(SUBSTR(metric_time_text, 18, 2) AS BIGINT),
          0
        ) - IF(
          REGEXP_LIKE(SUBSTR(metric_time_text, 17), '[+-]'),
          IF(REGEXP_LIKE(SUBSTR(metric_time_text, 17), '-'), -1, 1) * (
            CAST(SUBSTR(REGEXP_EXTRACT(SUBSTR(metric_time_text, 17), '[+-][0-9:]+$'), 2, 2) AS BIGINT) * 3600 + COALESCE(
              TRY_CAST(SUBSTR(REPLACE(REGEXP_EXTRACT(SUBSTR(metric_time_text, 17), '[+-][0-9:]+$'), ':', ''), 4, 2) AS BIGINT),
              0
            ) * 60
          ),
          0
        )
      ) * 1000 + ROUND(
        COALESCE(
          TRY_CAST(CONCAT('0', REGEXP_EXTRACT(SUBSTR(metric_time_text, 17), '[.][0-9]+')) AS DOUBLE),
          0
        ) * 1000
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
      JSON_EXTRACT_SCALAR(p.point, '$.metricName') AS metric_name,
      JSON_EXTRACT_SCALAR(p.point, '$.step') AS step_text,
      JSON_EXTRACT_SCALAR(p.point, '$.value') AS value_text,
      JSON_EXTRACT_SCALAR(p.point, '$.timestamp') AS metric_time_text,
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
        CASE
          WHEN NOT TRY(JSON_PARSE(e.requestparameters)) IS NULL
          THEN TRY(JSON_EXTRACT_SCALAR(e.requestparameters, '$.trialComponentName'))
        END AS trial_component, /* (json_extract stops at what it seeks: only a whole JSON text counts, as on every engine) */
        ELEMENT_AT(FILTER(e.resources, r -> r.type = 'AWS::SageMaker::ExperimentTrialComponent'), 1).arn AS trial_component_arn,
        CASE
          WHEN NOT TRY(JSON_PARSE(e.requestparameters)) IS NULL
          THEN TRY_CAST(TRY(JSON_EXTRACT(e.requestparameters, '$.metricData')) AS ARRAY(JSON))
        END AS metric_data,
        e.useridentity.arn AS caller_arn,
        e.useragent AS user_agent,
        e.sourceipaddress AS source_ip
      FROM smtrail.cloudtrail_events AS e
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
CREATE OR REPLACE VIEW smtrail.sagemaker_metric_calls AS
SELECT
  account_id,
  region,
  day,
  CASE
    WHEN event_ms >= -62135596800000 AND event_ms < 253402300800000
    THEN DATE_ADD(
      'MILLISECOND',
      CAST(event_ms - FLOOR(event_ms / 86400000) * 86400000 AS BIGINT),
      DATE_ADD(
        'DAY',
        CAST(FLOOR(event_ms / 86400000) AS BIGINT),
        CAST('1970-01-01 00:00:00.000' AS TIMESTAMP(3))
      )
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
      WHEN REGEXP_LIKE(event_time_text, '^-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?$')
      THEN ROUND(
        IF(
          TRY_CAST(event_time_text AS DOUBLE) >= 1e11,
          TRY_CAST(event_time_text AS DOUBLE),
          TRY_CAST(event_time_text AS DOUBLE) * 1000
        )
      )
      WHEN REGEXP_LIKE(
        event_time_text,
        '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]+)?)?(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?$'
      )
      THEN (
        DATE_DIFF('DAY', CAST('1970-01-01' AS DATE), TRY_CAST(SUBSTR(event_time_text, 1, 10) AS DATE)) * 86400 + CAST(SUBSTR(event_time_text, 12, 2) AS BIGINT) * 3600 + CAST(SUBSTR(event_time_text, 15, 2) AS BIGINT) * 60 + IF(
          SUBSTR(event_time_text, 17, 1) = ':',
          CAST(SUBSTR(event_time_text, 18, 2) AS BIGINT),
          0
        ) - IF(
          REGEXP_LIKE(SUBSTR(event_time_text, 17), '[+-]'),
          IF(REGEXP_LIKE(SUBSTR(event_time_text, 17), '-'), -1, 1) * (
            CAST(SUBSTR(REGEXP_EXTRACT(SUBSTR(event_time_text, 17), '[+-][0-9:]+$'), 2, 2) AS BIGINT) * 3600 + COALESCE(
              TRY_CAST(SUBSTR(REPLACE(REGEXP_EXTRACT(SUBSTR(event_time_text, 17), '[+-][0-9:]+$'), ':', ''), 4, 2) AS BIGINT),
              0
            ) * 60
          ),
          0
        )
      ) * 1000 + ROUND(
        COALESCE(
          TRY_CAST(CONCAT('0', REGEXP_EXTRACT(SUBSTR(event_time_text, 17), '[.][0-9]+')) AS DOUBLE),
          0
        ) * 1000
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
        WHEN NOT TRY(JSON_PARSE(e.requestparameters)) IS NULL
        THEN TRY(JSON_EXTRACT_SCALAR(e.requestparameters, '$.trialComponentName'))
      END AS trial_component,
      ELEMENT_AT(FILTER(e.resources, r -> r.type = 'AWS::SageMaker::ExperimentTrialComponent'), 1).arn AS trial_component_arn,
      CASE
        WHEN NOT TRY(JSON_PARSE(e.requestparameters)) IS NULL
        THEN COALESCE(
          TRY_CAST(JSON_ARRAY_LENGTH(TRY(JSON_EXTRACT(e.requestparameters, '$.metricData'))) AS BIGINT),
          0
        )
        ELSE 0
      END AS point_count,
      e.errorcode AS error_code,
      e.errormessage AS error_message,
      e.useridentity.arn AS caller_arn,
      e.useragent AS user_agent,
      e.sourceipaddress AS source_ip
    FROM smtrail.cloudtrail_events AS e
    WHERE
      e.eventsource = 'metrics-sagemaker.amazonaws.com'
      AND e.eventname = 'BatchPutMetrics'
  ) AS calls
) AS timed_calls;

ALTER TABLE smtrail.cloudtrail_events SET TBLPROPERTIES ('smtrail.schema_version'='2');

-- One row per copy of a metric point, as the sagemaker_metrics view gives it. `refresh` adds a copy only when no
-- equal copy is stored (MERGE ON event_id, point_index, the delivery day, account, region and every field), so
-- a rerun adds nothing and a redelivered event adds its copy once; queries keep one copy per (event_id,
-- point_index) exactly as they do over the views, so both sources give the same rows.
CREATE TABLE IF NOT EXISTS smtrail.sagemaker_metrics_store (
  account_id STRING,
  region STRING,
  day STRING,
  event_time TIMESTAMP,
  event_id STRING,
  point_index BIGINT,
  trial_component STRING,
  trial_component_arn STRING,
  metric_name STRING,
  step BIGINT,
  value DOUBLE,
  metric_time TIMESTAMP,
  caller_arn STRING,
  user_agent STRING,
  source_ip STRING
)
PARTITIONED BY (
  DAY(event_time)
)
LOCATION 's3://example-trail-bucket/smtrail-sql/smtrail/sagemaker_metrics_store/'
TBLPROPERTIES (
  'table_type'='ICEBERG',
  'format'='parquet',
  'write_compression'='zstd'
);

-- One row per copy of a BatchPutMetrics call, as the sagemaker_metric_calls view gives it.
CREATE TABLE IF NOT EXISTS smtrail.sagemaker_metric_calls_store (
  account_id STRING,
  region STRING,
  day STRING,
  event_time TIMESTAMP,
  event_id STRING,
  trial_component STRING,
  trial_component_arn STRING,
  point_count BIGINT,
  error_code STRING,
  error_message STRING,
  caller_arn STRING,
  user_agent STRING,
  source_ip STRING
)
PARTITIONED BY (
  DAY(event_time)
)
LOCATION 's3://example-trail-bucket/smtrail-sql/smtrail/sagemaker_metric_calls_store/'
TBLPROPERTIES (
  'table_type'='ICEBERG',
  'format'='parquet',
  'write_compression'='zstd'
);

-- One row per chunk of delivery days `refresh` folded in, written after the chunk's rows: what the store holds.
-- A day is in the store up to the started_at of the latest chunk that read it.
CREATE TABLE IF NOT EXISTS smtrail.sagemaker_metrics_refreshes (
  first_day DATE,
  last_day DATE,
  started_at TIMESTAMP,
  finished_at TIMESTAMP,
  tool_version STRING
)
LOCATION 's3://example-trail-bucket/smtrail-sql/smtrail/sagemaker_metrics_refreshes/'
TBLPROPERTIES (
  'table_type'='ICEBERG',
  'format'='parquet'
);

ALTER TABLE smtrail.cloudtrail_events SET TBLPROPERTIES ('smtrail.schema_version'='3');
