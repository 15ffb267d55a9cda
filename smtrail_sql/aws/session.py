"""One boto3 session per command, from a profile and a region, with boto3's own configuration.

Endpoints are deliberately not ours to configure: boto3 already reads ``AWS_ENDPOINT_URL`` and the per-service
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL_ATHENA`` (and ``endpoint_url`` in the profile), which is what
lets the tool talk to any S3/Athena-compatible endpoint, moto included.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from smtrail_sql.errors import EngineError

if TYPE_CHECKING:
    import boto3

#: Retries for every client: botocore's adaptive mode backs off on throttling (``ThrottlingException``,
#: ``TooManyRequestsException``, S3 ``SlowDown``) and rate-limits the client itself.
RETRIES: dict[str, Any] = {"mode": "adaptive", "max_attempts": 10}


def make_session(profile: str | None = None, region: str | None = None) -> boto3.Session:
    """A boto3 session over the standard credential chain; ``None`` leaves profile/region to boto3.

    >>> make_session(region="eu-west-1").region_name
    'eu-west-1'
    """
    import boto3
    import botocore.exceptions

    try:
        session = boto3.Session(profile_name=profile or None, region_name=region or None)
        if session.region_name is None and os.environ.get("AWS_REGION"):
            # boto3 reads only AWS_DEFAULT_REGION; the other AWS SDKs and the AWS CLI v2 also read AWS_REGION
            session = boto3.Session(profile_name=profile or None, region_name=os.environ["AWS_REGION"])
        return session
    except botocore.exceptions.ProfileNotFound as error:
        raise EngineError(f"AWS profile {profile!r} not found in the AWS config files: {error}") from None


def client_config(**overrides: Any) -> Any:
    """The botocore ``Config`` every client of ours uses (retries with backoff, a user agent suffix)."""
    from botocore.config import Config

    from smtrail_sql.version import package_version

    options: dict[str, Any] = {"retries": dict(RETRIES), "user_agent_extra": f"smtrail-sql/{package_version()}"}
    options.update(overrides)
    return Config(**options)


def make_client(session: boto3.Session, service: str, region: str | None = None, **config: Any) -> Any:
    """A client of ``service`` from ``session``, with :func:`client_config`.

    ``region`` overrides the session's (CloudTrail trails are read in their home region).
    """
    import botocore.exceptions

    try:
        # Any: the service name is a runtime value, which boto3-stubs' per-service overloads cannot type
        factory: Any = session
        return factory.client(service, region_name=region or session.region_name, config=client_config(**config))
    except botocore.exceptions.NoRegionError:
        raise EngineError(
            f"no AWS region for {service}: pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), "
            "or a region in the AWS profile"
        ) from None


def aws_error(what: str, error: Exception) -> EngineError:
    """A one-line :class:`EngineError` for a botocore error: ``cannot {what}: ...``.

    Service answers (``ClientError``) keep their error code; missing credentials say what to set.
    """
    import botocore.exceptions

    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return EngineError(
            f"cannot {what}: no AWS credentials found; use --profile or AWS_PROFILE, run `aws configure`, "
            "or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(error, botocore.exceptions.ClientError):
        details = error.response.get("Error", {})
        return EngineError(f"cannot {what}: {details.get('Code', '')} {details.get('Message', error)}".rstrip())
    return EngineError(f"cannot {what}: {error}")


@contextmanager
def aws_call(what: str) -> Iterator[None]:
    """Turn botocore's errors inside into :func:`aws_error`.

    >>> with aws_call("list the bucket"):
    ...     pass
    """
    import botocore.exceptions

    try:
        yield
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        raise aws_error(what, error) from None
