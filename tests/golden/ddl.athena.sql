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
