"""The typed shape of a CloudTrail log that the reader decodes: only what the two relations need.

msgspec decodes straight into these structs in C and skips every other field without building it, which is
most of the cost of reading a log. Fields are typed ``Any`` (or optional), so values keep the JSON type they
have, except a point's (see :class:`Point`); a file whose shape does not fit (a point that is not an object,
``userIdentity`` that is a string) raises ``msgspec.ValidationError`` and is read again as plain JSON by the
generic path.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Point(msgspec.Struct, gc=False):
    """One element of ``requestParameters.metricData``, typed as clients send it.

    The types let the reader hand each list to Arrow without looking at every value (an integer value or
    timestamp becomes a float, exactly, as the view's cast to DOUBLE does). A point of any other shape (a step
    of 2.5, a value in a string, a boolean) sends its file to the generic path, which takes anything.
    """

    metricName: str | None = None
    timestamp: float | str | None = None
    step: int | None = None
    value: float | None = None


class RequestParameters(msgspec.Struct, gc=False):
    """``requestParameters`` of a ``BatchPutMetrics`` call (other services' keys are skipped)."""

    trialComponentName: Any = None
    metricData: list[Point] | None = None


class Identity(msgspec.Struct, gc=False):
    """``userIdentity``: only the caller's ARN is kept."""

    arn: Any = None


class Resource(msgspec.Struct, gc=False):
    """An element of ``resources`` (the key of the ARN is ``ARN`` in most events, ``arn`` in some)."""

    type: Any = None
    ARN: Any = None
    arn: Any = None


class Event(msgspec.Struct, gc=False):
    """One record of ``Records``."""

    eventSource: Any = None
    eventName: Any = None
    eventTime: Any = None
    eventID: Any = None
    awsRegion: Any = None
    recipientAccountId: Any = None
    errorCode: Any = None
    errorMessage: Any = None
    userAgent: Any = None
    sourceIPAddress: Any = None
    userIdentity: Identity | None = None
    requestParameters: RequestParameters | str | None = None
    resources: list[Resource] | None = None


class Log(msgspec.Struct, gc=False):
    """A log file: ``{"Records": [...]}``; a digest file has ``digestPublicKeyFingerprint`` instead."""

    Records: list[Event] | None = None
    digestPublicKeyFingerprint: Any = None


class Outline(msgspec.Struct, gc=False):
    """A log file's records left undecoded: enough to validate and count a file without metric calls."""

    Records: list[msgspec.Raw] | None = None
    digestPublicKeyFingerprint: Any = None


class LeanEvent(msgspec.Struct, gc=False):
    """:class:`Event` without the descriptive fields of a call (time, caller, agent, address, resources,
    error message): a query that reads none of them decodes a third less (see ``lists.OPTIONAL_COLUMNS``)."""

    eventSource: Any = None
    eventName: Any = None
    eventID: Any = None
    errorCode: Any = None
    requestParameters: RequestParameters | str | None = None


class LeanLog(msgspec.Struct, gc=False):
    """:class:`Log` with :class:`LeanEvent` records."""

    Records: list[LeanEvent] | None = None
    digestPublicKeyFingerprint: Any = None


LOG_DECODER = msgspec.json.Decoder(Log)
#: Records without their log: those of a file with few metric calls (see ``decode._extract_sparse``).
EVENTS_DECODER = msgspec.json.Decoder(list[Event])
LEAN_LOG_DECODER = msgspec.json.Decoder(LeanLog)
OUTLINE_DECODER = msgspec.json.Decoder(Outline)
