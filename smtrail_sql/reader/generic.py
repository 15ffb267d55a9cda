"""The generic path of decoding: any JSON, read by the rules value by value (:mod:`~smtrail_sql.reader.rules`).

Slower than the typed path of :mod:`~smtrail_sql.reader.decode`, for the files whose shape it does not fit:
keys in another case, a point that is not an object, numbers as strings, ``requestParameters`` as a JSON
string... Values come out already through the rules, and times as text (the time rule is applied with the
others' in :func:`~smtrail_sql.reader.tables.build_tables`).
"""

from __future__ import annotations

from typing import Any

import smtrail_sql.reader.rules as rules
from smtrail_sql.reader.layout import SKIP_DIGEST, SKIP_FOREIGN_JSON, SKIP_TOO_DEEP, SKIP_TRUNCATED_JSON, LogFile
from smtrail_sql.reader.lists import FileLists
from smtrail_sql.reader.rules import field_text, scalar_text
from smtrail_sql.schema import METRICS_EVENT_NAME, METRICS_EVENT_SOURCE, TRIAL_COMPONENT_RESOURCE_TYPE


def extract_generic(data: bytes, log: LogFile) -> FileLists:
    """The lists of any JSON (see the module docstring)."""
    try:
        document = rules.loads(data)
    except ValueError:
        return FileLists(SKIP_TRUNCATED_JSON)
    except RecursionError:
        return FileLists(SKIP_TOO_DEEP)
    top = dict(document) if isinstance(document, rules.JsonObject) else {}
    records = top.get("Records")
    if type(records) is not list:
        digest = top.get("digestPublicKeyFingerprint") is not None
        return FileLists(SKIP_DIGEST if digest else SKIP_FOREIGN_JSON)
    lists = FileLists(None, len(records))
    builder = _ListBuilder(log, lists)
    for record in records:
        if isinstance(record, rules.JsonObject):
            fields = record.folded()
            if field_text(fields.get("eventname")) == METRICS_EVENT_NAME \
                    and field_text(fields.get("eventsource")) == METRICS_EVENT_SOURCE:
                builder.add(fields)
    return lists


class _ListBuilder:
    """Appends one metric call's values (a record's fields by lower-case key) to a :class:`FileLists`."""

    def __init__(self, log: LogFile, lists: FileLists) -> None:
        self.log = log
        self.lists = lists
        c = lists.calls
        self.columns = (c["account_id"], c["region"], c["day"], c["event_time"], c["event_id"],
                        c["trial_component"], c["trial_component_arn"], c["point_count"], c["error_code"],
                        c["error_message"], c["caller_arn"], c["user_agent"], c["source_ip"])

    def add(self, fields: dict[str, Any]) -> None:
        get = fields.get
        log = self.log
        event_time = field_text(get("eventtime"))
        account, region, day = log.account_id, log.region, log.day
        if account is None:
            account = field_text(get("recipientaccountid"))
        if region is None:
            region = field_text(get("awsregion"))
        if day is None:
            day = rules.event_day(event_time)
        params = get("requestparameters")
        if isinstance(params, str):
            try:  # a JSON string (or a scalar, whose text is read as JSON, as the view reads it)
                params = rules.loads(params)
            except (ValueError, RecursionError):
                params = None
        metric_data: Any = ()
        component = None
        if isinstance(params, rules.JsonObject):
            inside = params.first()
            component = scalar_text(inside.get("trialComponentName"))
            metric_data = inside.get("metricData")
            if type(metric_data) is not list:
                metric_data = ()
        identity = get("useridentity")
        error_code = field_text(get("errorcode"))
        (accounts, regions, days, times, ids, components, arns, counts, codes, messages, callers, agents,
         ips) = self.columns
        accounts.append(account)
        regions.append(region)
        days.append(day)
        times.append(event_time)
        ids.append(field_text(get("eventid")))
        components.append(component)
        arns.append(_trial_component_arn(get("resources")))
        counts.append(len(metric_data))
        codes.append(error_code)
        messages.append(field_text(get("errormessage")))
        callers.append(field_text(identity.folded().get("arn")) if isinstance(identity, rules.JsonObject)
                       else None)
        agents.append(field_text(get("useragent")))
        ips.append(field_text(get("sourceipaddress")))
        lists = self.lists
        if error_code is not None or not metric_data:
            lists.call_points.append(0)  # a failed call stored nothing
            return
        lists.call_points.append(len(metric_data))
        for point in metric_data:
            # an element that is not an object is a point of NULLs, counted in point_count and point_index
            # (keys matched exactly, the last of two equal keys wins: the view reads a point after the cast of
            # metricData to ARRAY(JSON), which Trino writes anew from a map)
            inside = dict(point) if isinstance(point, rules.JsonObject) else {}
            lists.names.append(rules.point_scalar_text(inside.get("metricName")))
            lists.values.append(rules.value_of(scalar_text(inside.get("value"))))
            lists.steps.append(rules.step_of(scalar_text(inside.get("step"))))
            lists.point_times.append(scalar_text(inside.get("timestamp")))  # (the time rule in build_tables)


def _trial_component_arn(resources: Any) -> str | None:
    if type(resources) is not list:
        return None
    for resource in resources:
        if isinstance(resource, rules.JsonObject):
            fields = resource.folded()
            if field_text(fields.get("type")) == TRIAL_COMPONENT_RESOURCE_TYPE:
                return field_text(fields.get("arn"))
    return None

