"""One boto3 session per command, from a profile and a region, with boto3's own configuration.

Endpoints are deliberately not ours to configure: boto3 already reads ``AWS_ENDPOINT_URL`` and the per-service
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL_ATHENA`` (and ``endpoint_url`` in the profile), which is what
lets the tool talk to any S3/Athena-compatible endpoint, moto included.
"""

from __future__ import annotations

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
        return boto3.Session(profile_name=profile or None, region_name=region or None)
    except botocore.exceptions.ProfileNotFound as error:
        raise EngineError(f"AWS profile {profile!r} not found in the AWS config files: {error}") from None


def client_config(**overrides: Any) -> Any:
    """The botocore ``Config`` every client of ours uses (retries with backoff, a user agent suffix)."""
    from botocore.config import Config

    from smtrail_sql import __version__

    options: dict[str, Any] = {"retries": dict(RETRIES), "user_agent_extra": f"smtrail-sql/{__version__}"}
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
            f"no AWS region for {service}: pass --region, set AWS_REGION or a region in the AWS profile"
        ) from None
