"""Basic event selectors (the older kind): what they log, and the advanced selectors that log the same.

CloudTrail does not allow both kinds on one trail, so adding the metrics selector (an advanced one: basic
selectors know S3 objects, Lambda functions and DynamoDB tables only) to a trail with basic selectors first
converts them (:func:`convert_basic_selectors`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from smtrail_sql.errors import SelectorConversionError

#: Basic selectors' data resource types, their "every resource" values, and how a specific value matches.
_BASIC_TYPES: Mapping[str, tuple[re.Pattern[str], str]] = {
    "AWS::S3::Object": (re.compile(r"^arn:[a-z-]+:s3(:::)?$"), "StartsWith"),
    "AWS::Lambda::Function": (re.compile(r"^arn:[a-z-]+:lambda$"), "Equals"),
    "AWS::DynamoDB::Table": (re.compile(r"^arn:[a-z-]+:dynamodb$"), "Equals"),
}


def basic_other_traffic(selector: Mapping[str, Any]) -> list[str]:
    """What a basic selector logs into the trail's folders (it never selects BatchPutMetrics calls)."""
    found = ["management events"] if selector.get("IncludeManagementEvents", True) else []
    if any(resource.get("Values") for resource in selector.get("DataResources") or []):
        found.append("other data events")
    return found


def convert_basic_selectors(selectors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The advanced selectors that log exactly what the basic ``selectors`` log.

    Raises :class:`SelectorConversionError` for a data resource type basic selectors should not hold.

    >>> convert_basic_selectors([{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}])
    [{'Name': 'Management events (converted)', 'FieldSelectors': [{'Field': 'eventCategory', \
'Equals': ['Management']}, {'Field': 'readOnly', 'Equals': ['false']}]}]
    """
    converted: list[dict[str, Any]] = []
    for selector in selectors:
        read_write = selector.get("ReadWriteType", "All")
        read_only: list[dict[str, Any]] = []
        if read_write in ("ReadOnly", "WriteOnly"):
            read_only = [{"Field": "readOnly", "Equals": ["true" if read_write == "ReadOnly" else "false"]}]
        elif read_write != "All":
            raise SelectorConversionError(
                f"basic selector with ReadWriteType {read_write!r}: expected "
                "All, ReadOnly or WriteOnly; trail left unchanged"
            )
        if selector.get("IncludeManagementEvents", True):
            fields = [{"Field": "eventCategory", "Equals": ["Management"]}, *read_only]
            excluded = list(selector.get("ExcludeManagementEventSources") or [])
            if excluded:
                fields.append({"Field": "eventSource", "NotEquals": excluded})
            converted.append({"Name": "Management events (converted)", "FieldSelectors": fields})
        for resource in selector.get("DataResources") or []:
            kind, values = resource.get("Type", ""), list(resource.get("Values") or [])
            if kind not in _BASIC_TYPES:
                raise SelectorConversionError(
                    f"basic selector logs data resources of type {kind!r}, which has no known advanced "
                    f"equivalent (known: {', '.join(_BASIC_TYPES)}); convert the trail's selectors to "
                    "advanced ones yourself, then re-run with --apply; trail left unchanged"
                )
            if not values:
                continue  # a data resource without values selects nothing
            every, operator = _BASIC_TYPES[kind]
            fields = [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": [kind]},
                *read_only,
            ]
            if not any(every.match(v) for v in values):
                fields.append({"Field": "resources.ARN", operator: values})
            converted.append({"Name": f"{kind} data events (converted)", "FieldSelectors": fields})
    unique: dict[str, dict[str, Any]] = {}
    for selector in converted:
        unique.setdefault(json.dumps(selector, sort_keys=True), selector)
    return list(unique.values())
