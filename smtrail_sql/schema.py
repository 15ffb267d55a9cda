"""The columns of the two views, the contract both engines honour.

``sagemaker_metrics`` has one row per stored metric point; ``sagemaker_metric_calls`` one row per
``BatchPutMetrics`` call, failed ones included. The Athena DDL in ``sql/ddl/`` and the local engine's reader
produce exactly these columns with these types (Athena/Trino type names; DuckDB uses the same names).
"""

from __future__ import annotations

from typing import Final

#: The metric-point view: one row per point stored by a successful ``BatchPutMetrics`` call, per copy of the
#: event read (the rendered queries keep one row per ``(event_id, point_index)``). Each column is described
#: in :data:`COLUMN_DESCRIPTIONS`.
METRIC_POINT_COLUMNS: Final[dict[str, str]] = {
    "account_id": "VARCHAR",
    "region": "VARCHAR",
    "day": "VARCHAR",
    "event_time": "TIMESTAMP",
    "event_id": "VARCHAR",
    "point_index": "BIGINT",
    "trial_component": "VARCHAR",
    "trial_component_arn": "VARCHAR",
    "metric_name": "VARCHAR",
    "step": "BIGINT",
    "value": "DOUBLE",
    "metric_time": "TIMESTAMP",
    "caller_arn": "VARCHAR",
    "user_agent": "VARCHAR",
    "source_ip": "VARCHAR",
}

#: The call view: one row per ``BatchPutMetrics`` call, failed calls included.
METRIC_CALL_COLUMNS: Final[dict[str, str]] = {
    "account_id": "VARCHAR",
    "region": "VARCHAR",
    "day": "VARCHAR",
    "event_time": "TIMESTAMP",
    "event_id": "VARCHAR",
    "trial_component": "VARCHAR",
    "trial_component_arn": "VARCHAR",
    "point_count": "BIGINT",
    "error_code": "VARCHAR",
    "error_message": "VARCHAR",
    "caller_arn": "VARCHAR",
    "user_agent": "VARCHAR",
    "source_ip": "VARCHAR",
}

#: Names the templates use for the two relations; the renderer rewrites them to the configured names.
METRIC_POINTS_RELATION: Final = "sagemaker_metrics"
METRIC_CALLS_RELATION: Final = "sagemaker_metric_calls"

#: What each relation holds, in one line (``smtrail-sql columns`` prints it).
RELATION_DESCRIPTIONS: Final[dict[str, str]] = {
    METRIC_POINTS_RELATION: "one row per metric point stored by a successful BatchPutMetrics call",
    METRIC_CALLS_RELATION: "one row per BatchPutMetrics call, failed ones included",
}

_SHARED_DESCRIPTIONS: Final[dict[str, str]] = {
    "account_id": "partition: the account folder of the log file",
    "region": "partition: the region folder of the log file",
    "day": "partition: the delivery day of the log file, 'yyyy/MM/dd' (UTC)",
    "event_time": "eventTime of the call, UTC, to the millisecond",
    "event_id": "eventID of the call: copies of one event share it (queries count it once)",
    "trial_component": "requestParameters.trialComponentName",
    "trial_component_arn": "the trial component's ARN, from resources[]",
    "caller_arn": "userIdentity.arn: who made the call",
    "user_agent": "userAgent of the call (SDK, CLI...)",
    "source_ip": "sourceIPAddress of the call",
}

#: One line per column of each relation, by relation: the one description of every column.
COLUMN_DESCRIPTIONS: Final[dict[str, dict[str, str]]] = {
    METRIC_POINTS_RELATION: {
        **_SHARED_DESCRIPTIONS,
        "point_index": "the point's 1-based position in metricData: (event_id, point_index) names a point",
        "metric_name": "metricName of the point",
        "step": "the point's step; NULL when it has none",
        "value": "the point's value (a finite double; NULL if unreadable)",
        "metric_time": "the point's own timestamp, normalised to UTC (milliseconds)",
    },
    METRIC_CALLS_RELATION: {
        **_SHARED_DESCRIPTIONS,
        "point_count": "points in the request, whether or not they were stored",
        "error_code": "errorCode of a failed call; NULL for a successful one",
        "error_message": "errorMessage of a failed call",
    },
}


def calls_view_for(view: str) -> str:
    """The calls view that goes with a metric-point view name: the default pair, or ``<view>_calls``.

    >>> calls_view_for("sagemaker_metrics"), calls_view_for("points")
    ('sagemaker_metric_calls', 'points_calls')
    """
    return METRIC_CALLS_RELATION if view == METRIC_POINTS_RELATION else f"{view}_calls"


#: Names the DDL uses for the metric store (version 3): Iceberg tables holding the rows of each view, and the
#: log of the refreshes that filled them (see :mod:`smtrail_sql.store`).
POINTS_STORE_RELATION: Final = "sagemaker_metrics_store"
CALLS_STORE_RELATION: Final = "sagemaker_metric_calls_store"
REFRESH_LOG_RELATION: Final = "sagemaker_metrics_refreshes"

#: The refresh log: one row per chunk of delivery days folded into the store, written after the chunk's rows.
REFRESH_LOG_COLUMNS: Final[dict[str, str]] = {
    "first_day": "DATE",  # the chunk's delivery days, both included
    "last_day": "DATE",
    "started_at": "TIMESTAMP",  # when the chunk began reading: every file delivered before it is in the store
    "finished_at": "TIMESTAMP",
    "tool_version": "VARCHAR",  # the smtrail-sql (or other tool) that wrote the chunk
}


def store_names_for(view: str, calls_view: str) -> tuple[str, str, str]:
    """The metric store's tables that go with the views: points, calls and the refresh log.

    >>> store_names_for("sagemaker_metrics", "sagemaker_metric_calls")
    ('sagemaker_metrics_store', 'sagemaker_metric_calls_store', 'sagemaker_metrics_refreshes')
    """
    return f"{view}_store", f"{calls_view}_store", f"{view}_refreshes"


#: Name the DDL uses for the raw CloudTrail table.
EVENTS_RELATION: Final = "cloudtrail_events"

#: The only events that carry metric points.
METRICS_EVENT_SOURCE: Final = "metrics-sagemaker.amazonaws.com"
METRICS_EVENT_NAME: Final = "BatchPutMetrics"
TRIAL_COMPONENT_RESOURCE_TYPE: Final = "AWS::SageMaker::ExperimentTrialComponent"

#: A point timestamp at or above this is epoch milliseconds, below it epoch seconds
#: (1e11 seconds is the year 5138; 1e11 milliseconds is 1973).
EPOCH_MILLIS_THRESHOLD: Final = 1e11
