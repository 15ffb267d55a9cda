"""The typed path's columns: a file's metric calls, decoded as msgspec structs
(:mod:`~smtrail_sql.reader.shapes`), to :class:`~smtrail_sql.reader.lists.FileLists`, column by column.

:func:`metric_calls` finds the calls among a file's typed records and :func:`columnar` fills the lists, each
when the typed structs cannot differ from the rules (:mod:`~smtrail_sql.reader.rules`) on this file: otherwise
they say so, and :mod:`~smtrail_sql.reader.decode` reads the file by the generic path.
"""

from __future__ import annotations

from itertools import chain, compress, count, repeat
from operator import attrgetter, is_not
from typing import Any

from smtrail_sql.reader.layout import LogFile
from smtrail_sql.reader.lists import OPTIONAL_COLUMNS, FileLists
from smtrail_sql.schema import METRICS_EVENT_NAME, METRICS_EVENT_SOURCE, TRIAL_COMPONENT_RESOURCE_TYPE

# attribute readers mapped over lists of decoded structs (a loop in C, twice as fast as a comprehension)
_EVENT_ID, _ERROR_CODE, _REQUEST_PARAMETERS, _EVENT_SOURCE, _EVENT_TIME, _ERROR_MESSAGE = (
    attrgetter(n) for n in ("eventID", "errorCode", "requestParameters", "eventSource", "eventTime",
                            "errorMessage"))
_USER_IDENTITY, _USER_AGENT, _SOURCE_IP, _RESOURCES, _ARN = (
    attrgetter(n) for n in ("userIdentity", "userAgent", "sourceIPAddress", "resources", "arn"))
_METRIC_DATA, _TRIAL_COMPONENT = attrgetter("metricData"), attrgetter("trialComponentName")
_METRIC_NAME, _VALUE, _STEP, _TIMESTAMP = (attrgetter(n) for n in ("metricName", "value", "step", "timestamp"))


def metric_calls(records: list[Any], quoted: int) -> list[Any] | None:
    """The metric calls among typed records, or None when the typed records may not be all of them.

    Every metric call's name is the string ``"BatchPutMetrics"`` in the bytes (or spelt with escapes, which
    fails the count): as many of them as typed records of that name means no call hides behind a key in
    another case (``EventName``), and each of those records must have its source under the exact key.
    """
    named = [e for e in records if e.eventName == METRICS_EVENT_NAME]
    if len(named) != quoted:
        return None
    sources = list(map(_EVENT_SOURCE, named))
    if None in sources:
        return None
    return [e for e, source in zip(named, sources, strict=True) if source == METRICS_EVENT_SOURCE]


def columnar(calls: list[Any], log: LogFile, lists: FileLists, *, lean: bool = False) -> bool:
    """The usual file, column by column with comprehensions (much cheaper than appends call by call).

    Usual means: the location gives the partition; every call has its ``eventID``, ``requestParameters``
    (an object) and, unless ``lean``, its time, caller, agent, address and resources under the exact keys
    (a key in another case leaves a typed field None: such a file goes generic); every text field is a
    string (a number's or an object's text is not known here). Otherwise returns False, ``lists`` untouched.
    ``lean`` calls (decoded as :class:`~smtrail_sql.reader.shapes.LeanEvent`) leave the
    :data:`OPTIONAL_COLUMNS` None.
    """
    account, region, day = log.account_id, log.region, log.day
    if account is None or region is None or day is None:
        return False
    ids = list(map(_EVENT_ID, calls))
    params = list(map(_REQUEST_PARAMETERS, calls))
    if None in ids or None in params or str in set(map(type, params)):
        return False
    codes = list(map(_ERROR_CODE, calls))
    data, components = list(map(_METRIC_DATA, params)), list(map(_TRIAL_COMPONENT, params))
    texts = [ids, codes, components]
    if not lean:
        times, identities = list(map(_EVENT_TIME, calls)), list(map(_USER_IDENTITY, calls))
        agents, ips = list(map(_USER_AGENT, calls)), list(map(_SOURCE_IP, calls))
        resources = list(map(_RESOURCES, calls))
        if None in times or None in identities or None in agents or None in ips or None in resources:
            return False
        callers = list(map(_ARN, identities))
        arns = list(map(_typed_trial_component_arn, resources))
        if None in callers or _ODD in arns:
            return False
        messages = list(map(_ERROR_MESSAGE, calls))
        texts += [times, callers, agents, ips, arns, messages]
    if not all(set(map(type, column)) <= _TEXT_TYPES for column in texts):
        return False
    size = len(calls)
    counts = [len(d) if d else 0 for d in data] if None in data else list(map(len, data))
    columns = lists.calls
    columns["account_id"] = [account] * size
    columns["region"] = [region] * size
    columns["day"] = [day] * size
    columns["event_id"] = ids
    columns["trial_component"] = components
    columns["point_count"] = counts
    columns["error_code"] = codes
    if lean:
        for name in OPTIONAL_COLUMNS:
            columns[name] = [None] * size
    else:
        columns["event_time"] = times
        columns["trial_component_arn"] = arns
        columns["error_message"] = messages
        columns["caller_arn"] = callers
        columns["user_agent"] = agents
        columns["source_ip"] = ips
    # a failed call stored nothing; the points of the others, flattened in C (no loop over calls here)
    stored = counts.copy()
    for failed in compress(count(), map(is_not, codes, repeat(None))):
        stored[failed] = 0
    points = list(chain.from_iterable(compress(data, stored)))
    lists.call_points = stored
    lists.typed = True
    lists.names = list(map(_METRIC_NAME, points))
    lists.values = list(map(_VALUE, points))
    lists.steps = list(map(_STEP, points))
    lists.point_times = list(map(_TIMESTAMP, points))
    return True


#: What :func:`_typed_trial_component_arn` gives for resources the typed path cannot read as the rules do.
_ODD = "\0odd"
_TEXT_TYPES: frozenset[type] = frozenset({str, type(None)})


def _typed_trial_component_arn(resources: list[Any]) -> str | None:
    for resource in resources:
        kind = resource.type
        if kind is None or (resource.ARN is None) == (resource.arn is None):
            return _ODD  # a key in another case, or both ARN and arn (the last one wins: order unknown here)
        if kind == TRIAL_COMPONENT_RESOURCE_TYPE:
            arn = resource.ARN if resource.ARN is not None else resource.arn
            return arn if type(arn) is str else _ODD
    return None

