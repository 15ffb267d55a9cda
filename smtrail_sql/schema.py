"""The columns of the two views, the contract both engines honour.

``sagemaker_metrics`` has one row per stored metric point; ``sagemaker_metric_calls`` one row per
``BatchPutMetrics`` call, failed ones included. The Athena DDL in ``sql/ddl/`` and the local engine's reader
produce exactly these columns with these types (Athena/Trino type names; DuckDB uses the same names).
"""

from __future__ import annotations

from typing import Final

#: The metric-point view: one row per point stored by a successful ``BatchPutMetrics`` call, per copy of the
#: event read (the rendered queries keep one row per ``(event_id, point_index)``).
METRIC_POINT_COLUMNS: Final[dict[str, str]] = {
    "account_id": "VARCHAR",  # partition: the account folder of the log file
    "region": "VARCHAR",  # partition: the region folder of the log file
    "day": "VARCHAR",  # partition: delivery day, 'yyyy/MM/dd'
    "event_time": "TIMESTAMP",  # eventTime of the call, UTC, to the millisecond
    "event_id": "VARCHAR",
    "point_index": "BIGINT",  # the point's 1-based position in metricData: (event_id, point_index) is a point
    "trial_component": "VARCHAR",  # requestParameters.trialComponentName
    "trial_component_arn": "VARCHAR",  # from resources[]
    "metric_name": "VARCHAR",
    "step": "BIGINT",  # NULL when the point has none
    "value": "DOUBLE",
    "metric_time": "TIMESTAMP",  # the point's own timestamp, normalised to UTC (milliseconds)
    "caller_arn": "VARCHAR",  # userIdentity.arn
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
    "point_count": "BIGINT",  # points in the request, whether or not they were stored
    "error_code": "VARCHAR",  # NULL for a successful call
    "error_message": "VARCHAR",
    "caller_arn": "VARCHAR",
    "user_agent": "VARCHAR",
    "source_ip": "VARCHAR",
}

#: Names the templates use for the two relations; the renderer rewrites them to the configured names.
METRIC_POINTS_RELATION: Final = "sagemaker_metrics"
METRIC_CALLS_RELATION: Final = "sagemaker_metric_calls"


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
